"""Campaign tasks: thin wrappers that take ids and call services (queue: outbound).

No long countdowns (DESIGN.md): a send re-enqueues itself one second later while rows are
due, and the per-brand tick (beat, every minute) starts scheduled runs and picks up any
send a crashed or restarted worker left behind.
"""

from __future__ import annotations

from django.utils import timezone

from engagement.campaigns import delivery, planning, services
from scrm.tasks import brand_task


@brand_task(queue="outbound")
def plan_campaign_task(campaign_id: int) -> int:
    result = services.plan_campaign(campaign_id)
    send_campaign_batch_task.delay(campaign_id)
    return result.planned if result else 0


@brand_task(queue="outbound")
def send_campaign_batch_task(campaign_id: int) -> int:
    """One throttled batch (the campaign's messages per second) into the outbox, then the
    outbox's answers copied back; again a second later while anything is due or waiting."""
    sent = services.send_batch(campaign_id)
    waiting = delivery.sync_outbox(campaign_id=campaign_id)
    if sent or waiting:
        send_campaign_batch_task.apply_async((campaign_id,), countdown=1)
    else:
        services.finish_if_done(campaign_id)
    return sent


@brand_task(queue="outbound")
def tick_campaigns_task() -> dict[str, int]:
    now = timezone.now()
    due = services.due_campaign_ids(now)
    for campaign_id in due["plan"]:
        services.plan_campaign(campaign_id, now=now)
    for campaign_id in set(due["send"]) | set(due["plan"]):
        send_campaign_batch_task.delay(campaign_id)
    delivery.sync_outbox()
    converted = services.attribute_recent_conversions(now)
    return {"planned": len(due["plan"]), "sending": len(due["send"]), "converted": converted}


@brand_task(queue="analytics")
def compute_best_send_hours_task() -> int:
    return planning.compute_best_send_hours()
