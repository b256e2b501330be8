"""Thin Celery entry points for the inbox's periodic work (fanned out per brand by beat)."""

from __future__ import annotations

from engagement.inbox import alerts, notices, services
from scrm.tasks import brand_task


@brand_task(acks_late=True)
def reassign_overdue_conversations_task() -> int:
    return services.reassign_overdue()


@brand_task(acks_late=True)
def wake_snoozed_conversations_task() -> int:
    return services.wake_snoozed()


@brand_task(acks_late=True)
def notify_queue_positions_task(conversation_ids: list[int] | None = None) -> int:
    return notices.notify_queue_positions(conversation_ids=conversation_ids)


@brand_task(acks_late=True)
def detect_listening_alerts_task() -> int:
    return len(alerts.detect_alerts())


@brand_task(bind=True, acks_late=True, max_retries=5)
def deliver_listening_alert_task(self, alert_id: int) -> None:  # noqa: ANN001
    try:
        alerts.deliver_alert(alert_id, final_attempt=self.request.retries >= self.max_retries)
    except alerts.WebhookFailed as error:
        raise self.retry(exc=error, countdown=min(2 ** self.request.retries * 10, 600)) from error
