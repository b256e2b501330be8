"""The webhook path's use of Redis: a per-connector rate limit and a "batch scheduled" flag.

Both fail open and fast. Redis is not where events live (PostgreSQL is), so when Redis
is down a webhook still stores its event and answers 200; the sweeper enqueues it later.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection
from django_tenants.cache import make_key

logger = logging.getLogger(__name__)

SCHEDULED_TTL_SECONDS = 30
# A webhook process that asked for a batch this recently does not ask again (one Redis
# round trip saved per webhook under load). Safe because the task, after releasing the
# flag, waits SETTLE_SECONDS before its last look: a row whose webhook skipped asking was
# committed less than CLAIM_EVERY_SECONDS after that process's previous ask, which either
# enqueued a task or found the flag held by one that had not yet released it; so the row
# is committed before that task's last look.
CLAIM_EVERY_SECONDS = 0.05
SETTLE_SECONDS = 2 * CLAIM_EVERY_SECONDS

_last_asked: dict[str, float] = {}


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CACHES["default"]["LOCATION"], socket_connect_timeout=0.25, socket_timeout=0.5,
    )


def _key(name: str) -> str:
    return make_key(f"channels:{name}", "", 1)  # carries the brand's schema


def over_rate_limit(connector_id: int, *, per_second: int) -> bool:
    """Fixed one-second window per connector. True when this request is over the limit."""
    return reserve_sends(connector_id, per_second=per_second, wanted=1) == 0


def reserve_sends(connector_id: int, *, per_second: int, wanted: int) -> int:
    """Take up to `wanted` sends from this wall-clock second's allowance of `per_second`
    for the connector, shared by every process; returns how many were granted (all of
    them when Redis is unreachable: the platform's own limit still answers)."""
    if wanted <= 0:
        return 0
    try:
        pipe = _client().pipeline(transaction=False)
        # One key per wall-clock second: a true one-second window (a single key that
        # expires two seconds after its first hit would allow the limit per two seconds).
        # (EXPIRE … NX needs Redis 7; the embedded server is older, and a per-second key
        # can simply be given its expiry on every hit.)
        key = _key(f"rate:{connector_id}:{int(time.time())}")
        pipe.incrby(key, wanted)
        pipe.expire(key, 2)
        count, _expiry = pipe.execute()
    except redis.RedisError:
        return wanted
    used_before = count - wanted
    return max(0, min(wanted, per_second - used_before))


def claim_schedule() -> bool:
    """True if the caller should enqueue a processing task (no batch is scheduled yet).
    False when one is, and also when Redis is unreachable (enqueueing would fail too)."""
    try:
        return bool(_client().set(_key("scheduled"), 1, nx=True, ex=SCHEDULED_TTL_SECONDS))
    except redis.RedisError as error:
        logger.warning("redis unavailable; pending events wait for the sweeper", extra={"error": str(error)})
        return False


def asked_recently() -> bool:
    """True if this process asked for a batch for this brand within CLAIM_EVERY_SECONDS;
    otherwise records that it is asking now and returns False."""
    now = time.monotonic()
    brand = connection.schema_name
    if now - _last_asked.get(brand, float("-inf")) < CLAIM_EVERY_SECONDS:
        return True
    _last_asked[brand] = now
    return False


def release_schedule() -> None:
    try:
        _client().delete(_key("scheduled"))
    except redis.RedisError:
        pass


@lru_cache(maxsize=1)
def _broker() -> redis.Redis:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis+socket://"):  # kombu's spelling of a Unix-socket URL
        path, _sep, query = url[len("redis+socket://"):].partition("?")
        db = dict(part.split("=", 1) for part in query.split("&") if "=" in part).get("virtual_host", "0")
        return redis.Redis(unix_socket_path=path, db=int(db), socket_connect_timeout=0.25, socket_timeout=0.5)
    return redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5)


def analytics_queue_busy() -> bool:
    """True when the analytics queue holds messages (or Redis cannot say): the sentiment
    sweep then waits, since queued tasks will do its work."""
    try:
        return bool(_broker().llen("analytics"))
    except redis.RedisError:
        return True
