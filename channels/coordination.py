"""The webhook path's use of Redis: a per-connector rate limit and a "batch scheduled" flag.

Both fail open and fast. Redis is not where events live (PostgreSQL is), so when Redis
is down a webhook still stores its event and answers 200; the sweeper enqueues it later.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings
from django_tenants.cache import make_key

logger = logging.getLogger(__name__)

SCHEDULED_TTL_SECONDS = 30


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CACHES["default"]["LOCATION"], socket_connect_timeout=0.25, socket_timeout=0.5,
    )


def _key(name: str) -> str:
    return make_key(f"channels:{name}", "", 1)  # carries the brand's schema


def over_rate_limit(connector_id: int, *, per_second: int) -> bool:
    """Fixed one-second window per connector. True when this request is over the limit."""
    try:
        pipe = _client().pipeline(transaction=False)
        key = _key(f"rate:{connector_id}")
        pipe.incr(key)
        pipe.expire(key, 2, nx=True)
        count, _expiry = pipe.execute()
    except redis.RedisError:
        return False
    return count > per_second


def claim_schedule() -> bool:
    """True if the caller should enqueue a processing task (no batch is scheduled yet).
    False when one is, and also when Redis is unreachable (enqueueing would fail too)."""
    try:
        return bool(_client().set(_key("scheduled"), 1, nx=True, ex=SCHEDULED_TTL_SECONDS))
    except redis.RedisError as error:
        logger.warning("redis unavailable; pending events wait for the sweeper", extra={"error": str(error)})
        return False


def release_schedule() -> None:
    try:
        _client().delete(_key("scheduled"))
    except redis.RedisError:
        pass
