"""The outbox: queue a message in the business transaction, deliver it later through the
connector's adapter, at most once per row.

Checks at send time, each refusal recorded on the row with a reason a person can read:
consent (marketing needs a grant on the channel; a service reply is refused only when the
customer withdrew), the platform's reply window (WeChat customer service 48 h, Meta 24 h
after the customer's last inbound message or event), and a per-connector rate limit.
Transient platform errors (rate limits, network) are retried with exponential backoff,
scheduled in the database (next_attempt_at), never with long Celery countdowns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from channels import coordination
from channels.adapters import NoAdapter, adapter_for
from channels.adapters.http import PlatformUnreachable, SendResult
from channels.models import KIND_CHANNEL, Connector, OutboundMessage
from customers.models import OUTBOUND_INTERACTION_KINDS, Consent, Interaction

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CLAIM_SIZE = 50
DEFAULT_SENDS_PER_SECOND = 20
# A row still "sending" after this long was interrupted mid-call.
SENDING_TIMEOUT = timedelta(minutes=5)
REPLY_WINDOWS = {"wechat_oa": timedelta(hours=48), "facebook": timedelta(hours=24), "instagram": timedelta(hours=24)}
# Meta's HUMAN_AGENT tag extends the window to 7 days.
TAGGED_WINDOW = timedelta(days=7)


def queue_message(
    *, connector: Connector, recipient: str, text: str = "", kind: str = OutboundMessage.Kind.TEXT,
    payload: dict[str, Any] | None = None, customer_id: int | None = None,
    purpose: str = OutboundMessage.Purpose.SERVICE,
) -> OutboundMessage:
    """Write the message in the caller's transaction; a send is requested on commit."""
    message = OutboundMessage.objects.create(
        connector=connector, customer_id=customer_id, recipient=recipient, kind=kind, purpose=purpose,
        payload=payload if payload is not None else {"text": text}, next_attempt_at=timezone.now(),
    )
    transaction.on_commit(_request_delivery)
    return message


def queue_messages(messages: Sequence[OutboundMessage]) -> list[OutboundMessage]:
    """Write many unsaved messages (a campaign batch) in one INSERT in the caller's
    transaction; on commit, one delivery task per claim-sized share, so several workers can
    deliver the batch side by side (SKIP LOCKED keeps them apart)."""
    now = timezone.now()
    for message in messages:
        message.next_attempt_at = message.next_attempt_at or now
    created = OutboundMessage.objects.bulk_create(messages)
    for _share in range(0, len(created), CLAIM_SIZE):
        transaction.on_commit(_request_delivery)
    return created


def _request_delivery() -> None:
    from channels.tasks import deliver_outbound_task

    try:
        deliver_outbound_task.apply_async(retry=False)
    except Exception as error:  # broker down: the beat sweep delivers due rows later
        logger.warning("could not enqueue outbound delivery", extra={"error": str(error)})


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0


def deliver_due_messages(*, limit: int = CLAIM_SIZE) -> DeliveryReport:
    """Claim due rows (SKIP LOCKED), mark them sending (committed), then call the platform."""
    _mark_interrupted()
    with transaction.atomic():
        claimed = list(
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now())
            .select_related("connector").order_by("next_attempt_at", "id")[:limit]
        )
        OutboundMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(status=OutboundMessage.Status.SENDING)
    report = DeliveryReport(claimed=len(claimed))
    for message in claimed:
        outcome = _deliver(message)
        if outcome == "sent":
            report.sent += 1
        elif outcome == "retry":
            report.retrying += 1
        else:
            report.failed += 1
    return report


def has_due_messages() -> bool:
    return OutboundMessage.objects.filter(
        status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now()
    ).exists()


def _deliver(message: OutboundMessage) -> str:
    refusal = _refusal(message)
    if refusal:
        return _finish(message, SendResult(ok=False, code=refusal[0], error=refusal[1]))
    per_second = int(message.connector.config.get("sends_per_second") or DEFAULT_SENDS_PER_SECOND)
    if coordination.over_rate_limit(-message.connector_id, per_second=per_second):
        return _finish(message, SendResult(ok=False, code="rate_limited", error="connector send rate", transient=True), count=False)
    try:
        result = adapter_for(message.connector.kind).send(message.connector, message)
    except NoAdapter:
        result = SendResult(ok=False, code="no_adapter", error=f"{message.connector.kind} cannot send yet")
    except NotImplementedError as error:
        result = SendResult(ok=False, code="no_adapter", error=str(error))
    except PlatformUnreachable as error:
        result = SendResult(ok=False, code="unreachable", error=str(error), transient=True)
    return _finish(message, result)


def _refusal(message: OutboundMessage) -> tuple[str, str] | None:
    channel = KIND_CHANNEL[message.connector.kind]
    if message.customer_id is not None:
        latest = (
            Consent.objects.filter(customer_id=message.customer_id, purpose=message.purpose, channel__in=[channel, "all"])
            .order_by("-recorded_at", "-id").values_list("status", flat=True).first()
        )
        if message.purpose == OutboundMessage.Purpose.MARKETING and latest != Consent.Status.GRANTED:
            return "no_consent", "no marketing consent on this channel"
        if latest == Consent.Status.WITHDRAWN:
            return "no_consent", "the customer withdrew consent on this channel"
    window = REPLY_WINDOWS.get(message.connector.kind)
    if window and message.kind != OutboundMessage.Kind.TEMPLATE and message.customer_id is not None:
        if message.payload.get("tag") == "HUMAN_AGENT":
            window = TAGGED_WINDOW
        last = (
            Interaction.objects.filter(customer_id=message.customer_id, channel=channel)
            .exclude(kind__in=OUTBOUND_INTERACTION_KINDS).aggregate(last=Max("occurred_at"))["last"]
        )
        if last is None or timezone.now() - last > window:
            hours = int(window.total_seconds() // 3600)
            return "outside_window", f"the platform allows replies only within {hours} h of the customer's last message"
    return None


def _finish(message: OutboundMessage, result: SendResult, *, count: bool = True) -> str:
    now = timezone.now()
    fields: dict[str, Any] = {"error_code": result.code[:32], "error": result.error[:2000]}
    attempts = message.attempts + (1 if count else 0)
    if result.ok:
        fields |= {"status": OutboundMessage.Status.SENT, "sent_at": now, "platform_message_id": result.platform_id[:200]}
        outcome = "sent"
    elif result.transient and attempts < MAX_ATTEMPTS:
        fields |= {"status": OutboundMessage.Status.QUEUED, "next_attempt_at": now + timedelta(seconds=2 ** attempts)}
        outcome = "retry"
    else:
        fields |= {"status": OutboundMessage.Status.FAILED}
        outcome = "failed"
    OutboundMessage.objects.filter(pk=message.pk).update(attempts=attempts, **fields)
    if outcome == "sent" and message.customer_id is not None:
        Interaction.objects.create(
            customer_id=message.customer_id, channel=KIND_CHANNEL[message.connector.kind],
            kind=Interaction.Kind.MESSAGE_OUT, occurred_at=now, text=str(message.payload.get("text", ""))[:10000],
            external_id=f"out:{message.pk}", metadata={"outbound_message": message.pk},
        )
    return outcome


def _mark_interrupted() -> None:
    OutboundMessage.objects.filter(
        status=OutboundMessage.Status.SENDING, next_attempt_at__lt=timezone.now() - SENDING_TIMEOUT,
    ).update(status=OutboundMessage.Status.UNKNOWN, error="interrupted while sending; not retried to avoid a duplicate")
