"""Thin Celery entry points for the inbox's periodic work (fanned out per brand by beat)."""

from __future__ import annotations

from engagement.inbox import services
from scrm.tasks import brand_task


@brand_task(acks_late=True)
def reassign_overdue_conversations_task() -> int:
    return services.reassign_overdue()


@brand_task(acks_late=True)
def wake_snoozed_conversations_task() -> int:
    return services.wake_snoozed()
