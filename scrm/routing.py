"""Host → brand routing with a per-process memo that every process forgets within a second.

django-tenants' TenantMainMiddleware looks the host up in scrm_domain ⨝ scrm_brand on
every request (plus a `SET search_path` to public first): about 0.8 ms, four times the
0.2 ms the foundation issue allows (bench/RESULTS.md). Brands and domains change rarely,
so each process keeps its answers, and drops them all when the shared routing generation
(a Redis counter, bumped after any Brand or Domain change commits) moves. A process reads
the counter at most once a second, so a change reaches every process within about a
second and the lookup stays off the hot path. Unknown hosts are never memoised, so a new
brand is reachable as soon as it commits.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_tenants.middleware.main import TenantMainMiddleware
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

GENERATION_KEY = "scrm:routing-generation"
CHECK_EVERY = 1.0  # seconds between reads of the shared generation, per process

_entries: dict[str, Any] = {}
_state = {"generation": None, "checked_at": 0.0}


def _bump_generation(**_kwargs: Any) -> None:
    _entries.clear()

    def bump() -> None:
        try:
            try:
                cache.incr(GENERATION_KEY)
            except ValueError:  # no counter yet
                cache.set(GENERATION_KEY, 1, timeout=None)
        except RedisError:  # other processes forget within CHECK_EVERY once Redis is back
            logger.warning("routing generation not bumped: Redis unavailable")
            _state["generation"] = None

    transaction.on_commit(bump)


def _forget_if_stale() -> None:
    now = time.monotonic()
    if now - _state["checked_at"] < CHECK_EVERY:
        return
    _state["checked_at"] = now
    try:
        generation = cache.get(GENERATION_KEY)
    except RedisError:
        # Redis down: route from the database until it returns (webhooks must still be
        # accepted and stored, DESIGN.md "the ingestion spine").
        logger.warning("routing generation unreadable; routing without the memo")
        _entries.clear()
        _state["generation"] = None
        return
    if generation != _state["generation"]:
        _entries.clear()
        _state["generation"] = generation


class BrandRoutingMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        _forget_if_stale()
        tenant = _entries.get(hostname)
        if tenant is None:
            tenant = _entries[hostname] = super().get_tenant(domain_model, hostname)  # DoesNotExist → 404
        # A copy per request: nothing a request sets on its brand leaks into the next.
        return copy.copy(tenant)


def connect_signals() -> None:
    from scrm.models import Brand, Domain

    for model in (Brand, Domain):
        post_save.connect(_bump_generation, sender=model, dispatch_uid=f"routing-{model.__name__}-save")
        post_delete.connect(_bump_generation, sender=model, dispatch_uid=f"routing-{model.__name__}-delete")
