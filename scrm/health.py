"""Health of the parts a brand depends on: database, Redis, Celery worker heartbeat."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db import connection

HEARTBEAT_KEY = "scrm:worker-heartbeat"
# The beat schedules a heartbeat every 10 s; past this age the worker (or beat) is down.
HEARTBEAT_STALE_AFTER = 60


def record_worker_heartbeat(*, worker: str) -> None:
    # A raw key, not cache.set: the heartbeat is platform-wide, not per brand.
    cache._cache.get_client(write=True).set(HEARTBEAT_KEY, f"{time.time()}|{worker}", ex=3600)


def worker_heartbeat() -> tuple[float | None, str]:
    raw = cache._cache.get_client().get(HEARTBEAT_KEY)
    if not raw:
        return None, ""
    stamp, _sep, worker = raw.decode().partition("|")
    return time.time() - float(stamp), worker


def check() -> dict[str, Any]:
    result: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        result["db"] = "ok"
    except Exception as error:  # noqa: BLE001 - reported, not swallowed
        result["db"] = f"error: {type(error).__name__}"
    try:
        age, worker = worker_heartbeat()
        result["redis"] = "ok"
        result["worker_heartbeat_age_s"] = None if age is None else round(age, 1)
        result["worker"] = worker
        result["worker_ok"] = age is not None and age < HEARTBEAT_STALE_AFTER
    except Exception as error:  # noqa: BLE001
        result["redis"] = f"error: {type(error).__name__}"
        result["worker_heartbeat_age_s"] = None
        result["worker_ok"] = False
    result["ok"] = result["db"] == "ok" and result["redis"] == "ok" and result["worker_ok"]
    return result
