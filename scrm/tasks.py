"""Platform tasks: worker heartbeat, beat fan-out to brands, and the brand-task guard."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task

from scrm import health, tenancy

logger = logging.getLogger(__name__)


def brand_task(*task_args: Any, **task_kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """`shared_task` for work that belongs to one brand. Queued without a brand (from
    beat, a shell, a command) it refuses to run and logs why, rather than touch the
    public schema."""

    def decorator(func: Callable[..., Any]) -> Any:
        @wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not tenancy.in_brand_schema():
                logger.error("brand task refused: no brand schema", extra={"task": func.__name__})
                return None
            return func(*args, **kwargs)

        return shared_task(*task_args, **task_kwargs)(guarded)

    return decorator


@shared_task
def record_worker_heartbeat_task() -> None:
    health.record_worker_heartbeat(worker=socket.gethostname())


@shared_task
def fan_out_task(task_name: str, *args: Any, all_brands: bool = False) -> int:
    return tenancy.fan_out(task_name, *args, all_brands=all_brands)


@brand_task()
def record_brand_heartbeat_task() -> int:
    from scrm.staff.services import record_brand_heartbeat

    return record_brand_heartbeat(worker=socket.gethostname()).beats
