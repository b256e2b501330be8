"""Webhook token → Connector, memoised per process for the accept path.

Every delivery names its connector by an unguessable token; reading the connector (and
decrypting its secrets) on each request was a round trip plus Fernet work per webhook.
Connectors change rarely, so each process keeps what it found for TTL_SECONDS and drops
everything when the shared connector generation (a Redis counter, bumped after any
Connector save or delete commits) moves, read at most once a second — as scrm/routing.py
does for hosts. A change (disabling a connector, rotating a secret) therefore reaches every
process within about a second, and within TTL_SECONDS even while Redis is down. Unknown
and disabled tokens are never memoised, so a new connector works as soon as it commits.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError

from channels.models import Connector

logger = logging.getLogger(__name__)

GENERATION_KEY = "channels:connector-generation"
TTL_SECONDS = 5.0
CHECK_EVERY = 1.0  # seconds between reads of the shared generation, per process

_entries: dict[tuple[str, str, str], tuple[float, Connector]] = {}
_state: dict[str, Any] = {"generation": None, "checked_at": 0.0}


def enabled_connector(*, token: str, kind: str | None = None) -> Connector | None:
    """The enabled connector of the current brand with this webhook token (and kind, when
    given), or None. Returns a copy: nothing a request sets on it leaks into the next."""
    _forget_if_stale()
    key = (connection.schema_name, kind or "", token)
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and now - hit[0] < TTL_SECONDS:
        return copy.copy(hit[1])
    found = Connector.objects.filter(webhook_token=token, enabled=True)
    if kind is not None:
        found = found.filter(kind=kind)
    connector = found.first()
    if connector is None:
        _entries.pop(key, None)
        return None
    connector.secret_names()  # decrypt once per memo entry; copies share the plain dict
    _entries[key] = (now, connector)
    return copy.copy(connector)


def forget_all() -> None:
    _entries.clear()


def _forget_if_stale() -> None:
    now = time.monotonic()
    if now - _state["checked_at"] < CHECK_EVERY:
        return
    _state["checked_at"] = now
    try:
        generation = cache.get(GENERATION_KEY)
    except RedisError:
        # Redis down: keep the memo (TTL_SECONDS bounds staleness) and ask again later.
        _state["generation"] = None
        return
    if generation != _state["generation"]:
        _entries.clear()
        _state["generation"] = generation


def _bump_generation(**_kwargs: Any) -> None:
    _entries.clear()

    def bump() -> None:
        _entries.clear()  # a lookup between the save and its commit may have re-read the old row
        try:
            try:
                cache.incr(GENERATION_KEY)
            except ValueError:  # no counter yet
                cache.set(GENERATION_KEY, 1, timeout=None)
        except RedisError:
            logger.warning("connector generation not bumped: Redis unavailable")

    transaction.on_commit(bump)


def connect_signals() -> None:
    post_save.connect(_bump_generation, sender=Connector, dispatch_uid="connector-lookup-save")
    post_delete.connect(_bump_generation, sender=Connector, dispatch_uid="connector-lookup-delete")
