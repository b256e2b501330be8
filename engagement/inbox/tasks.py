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


# The beat queues these minute sweeps only in brands where they have something to do
# (scrm.tenancy.fan_out); each probe reads one of the conversation indexes.
_CONVERSATIONS = "{schema}.engagement_conversation"
reassign_overdue_conversations_task.due_sql = (
    f"EXISTS (SELECT 1 FROM {_CONVERSATIONS} WHERE awaiting_since IS NOT NULL"
    " AND first_response_due_at < statement_timestamp() AND status = 'open' AND assignee_id IS NOT NULL)"
)
wake_snoozed_conversations_task.due_sql = (
    f"EXISTS (SELECT 1 FROM {_CONVERSATIONS} WHERE status = 'snoozed' AND snoozed_until <= statement_timestamp())"
)
notify_queue_positions_task.due_sql = (
    f"EXISTS (SELECT 1 FROM {_CONVERSATIONS} WHERE queued_at IS NOT NULL AND assignee_id IS NULL AND status = 'open')"
)


@brand_task(bind=True, acks_late=True, max_retries=5)
def deliver_listening_alert_task(self, alert_id: int) -> None:  # noqa: ANN001
    try:
        alerts.deliver_alert(alert_id, final_attempt=self.request.retries >= self.max_retries)
    except alerts.WebhookFailed as error:
        raise self.retry(exc=error, countdown=min(2 ** self.request.retries * 10, 600)) from error
