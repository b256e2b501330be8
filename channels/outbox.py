"""The outbox: queue a message in the business transaction, deliver it later through the
connector's adapter, at most once per row.

Checks at send time, each refusal recorded on the row with a reason a person can read:
consent (marketing needs a grant on the channel; a service reply is refused only when the
customer withdrew), the platform's reply window (WeChat customer service 48 h, Meta 24 h
after the customer's last inbound message or event), and a per-connector rate limit.
Transient platform errors (rate limits, network) are retried with exponential backoff,
scheduled in the database (next_attempt_at), never with long Celery countdowns.

How a claim is delivered (deliver_due_messages): rows are claimed as "sending" and that is
committed before any platform call, so a worker killed mid-batch leaves them "sending" and
they are later marked "unknown", never sent again. The checks run set-wise for the claim
(one query per channel and check). Each connector's rows are handed to a few send threads
(its "lanes", more for a faster connector, each with its own kept-alive connections),
paced by the connector's one-second window in Redis: a second's allowance is taken only
once the lanes have drained the previous one. Answers are written back in chunks, one
UPDATE … FROM unnest per chunk, as they arrive, so a crash loses the outcome of at most
a chunk in flight. Rows the window or the batch's time budget left unsent go back to the
queue untouched (no attempt counted).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from channels import coordination
from channels.adapters import NoAdapter, adapter_for
from channels.adapters.http import PlatformUnreachable, SendResult, close_connections
from channels.models import KIND_CHANNEL, Connector, OutboundMessage
from customers.models import OUTBOUND_INTERACTION_KINDS, Consent, Interaction
from scrm.db import execute_bound, insert_unnest

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CLAIM_SIZE = 50
# With a backlog a claim grows to a share of it, up to this many rows.
MAX_CLAIM_SIZE = 500
# Tasks asked for when many rows are queued at once; each chains its successor.
PARALLEL_CLAIMS = 4
DEFAULT_SENDS_PER_SECOND = 20
# Send threads per connector: one per 10 sends/s of its limit (a platform 100 ms away
# answers about ten a second per connection), at most this many.
MAX_LANES = 8
SENDS_PER_LANE = 10
# Answers are written back in chunks of this many, or this often.
FLUSH_SIZE = 100
FLUSH_SECONDS = 0.25
# A claim waits at most this long for the connector's next windows; the rest is requeued.
PACE_SECONDS = 3.0
# No new send starts this long after the claim (a slow platform); the rest is requeued.
BATCH_SECONDS = 60.0
# Rows due again within this long (the window was full) are asked for a second later
# rather than left to the sweeper.
SHORT_RETRY = timedelta(seconds=2)
# A row still "sending" this long after its claim was interrupted mid-call.
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
    transaction; on commit, a delivery task per claim-sized share (at most
    PARALLEL_CLAIMS: each chains the next while rows are due), so several workers can
    deliver the batch side by side (SKIP LOCKED keeps them apart)."""
    now = timezone.now()
    for message in messages:
        message.next_attempt_at = message.next_attempt_at or now
    created = OutboundMessage.objects.bulk_create(messages)
    for _share in range(min(PARALLEL_CLAIMS, math.ceil(len(created) / CLAIM_SIZE))):
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
    unknown: int = 0


@dataclass
class _Outcome:
    """A row's answer, written back by _write_outcomes. `count` is False for rows that
    were never offered to the platform (the window or the time budget stopped them)."""

    message: OutboundMessage
    result: SendResult
    at: datetime
    count: bool = True
    unknown: bool = False


def deliver_due_messages(*, limit: int | None = None) -> DeliveryReport:
    """Claim due rows (SKIP LOCKED), mark them sending (committed), then call the platform."""
    _mark_interrupted()
    limit = limit or claim_size()
    now = timezone.now()
    # One statement (its own transaction): the rows are "sending", committed, before any call.
    claimed = sorted(
        OutboundMessage.objects.raw(_CLAIM_SQL.format(outbound=_table()), {"now": now, "limit": limit}),
        key=lambda m: m.pk,
    )
    report = DeliveryReport(claimed=len(claimed))
    if not claimed:
        return report
    connectors = Connector.objects.in_bulk({m.connector_id for m in claimed})
    by_connector: dict[int, list[OutboundMessage]] = defaultdict(list)
    for message in claimed:
        message.connector = connectors[message.connector_id]  # one instance: secrets decrypted once
        by_connector[message.connector_id].append(message)
    writer = _OutcomeWriter(report)
    refusals = _refusals(claimed)
    writer.add(_Outcome(m, SendResult(ok=False, code=refusals[m.pk][0], error=refusals[m.pk][1]), timezone.now())
               for m in claimed if m.pk in refusals)
    deadline = time.monotonic() + BATCH_SECONDS
    for connector_id, messages in by_connector.items():
        _send_paced(connectors[connector_id], [m for m in messages if m.pk not in refusals], writer, deadline=deadline)
    writer.flush()
    return report


# next_attempt_at holds the claim time while "sending" (see _mark_interrupted).
_CLAIM_SQL = """
UPDATE {outbound} SET status = 'sending', next_attempt_at = %(now)s
 WHERE id IN (SELECT id FROM {outbound} WHERE status = 'queued' AND next_attempt_at <= %(now)s
               ORDER BY next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING *
"""


def _table() -> str:
    return connection.ops.quote_name(OutboundMessage._meta.db_table)


def claim_size() -> int:
    """CLAIM_SIZE, or with a backlog a quarter of it (leaving the rest to parallel claims),
    up to MAX_CLAIM_SIZE."""
    due = (
        OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now())
        .values("pk")[: 4 * MAX_CLAIM_SIZE].count()
    )
    return max(CLAIM_SIZE, min(MAX_CLAIM_SIZE, due // 4))


def has_due_messages(*, within: timedelta = timedelta(0)) -> bool:
    return OutboundMessage.objects.filter(
        status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now() + within
    ).exists()


def lanes_for(per_second: int, rows: int) -> int:
    return max(1, min(MAX_LANES, math.ceil(per_second / SENDS_PER_LANE), rows))


def _send_paced(connector: Connector, messages: list[OutboundMessage], writer: _OutcomeWriter, *, deadline: float) -> None:
    """Send `messages` through `connector` on its lanes, a window's allowance at a time.
    One recipient's messages all go through one lane, in the claim's order, so a text and
    the image sent after it reach the customer in that order."""
    if not messages:
        return
    per_second = int(connector.config.get("sends_per_second") or DEFAULT_SENDS_PER_SECOND)
    todo = list(reversed(messages))  # pop() from the end keeps the claim's order
    answers: queue.Queue[_Outcome] = queue.Queue()
    works: list[queue.Queue[OutboundMessage | None]] = [queue.Queue() for _ in range(lanes_for(per_second, len(messages)))]
    lanes = [
        threading.Thread(target=_lane, args=(work, answers, connection.tenant, deadline), daemon=True,
                         name=f"outbox-{connector.pk}-{index}")
        for index, work in enumerate(works)
    ]
    for lane in lanes:
        lane.start()
    in_flight = 0

    def collect(until: float, *, while_queued: bool) -> None:
        """Write answers as they come until `until` (or, `while_queued`, until the lanes
        have taken every granted row)."""
        nonlocal in_flight
        while in_flight and (remaining := until - time.monotonic()) > 0:
            if while_queued and all(work.empty() for work in works):
                return
            try:
                outcome = answers.get(timeout=min(remaining, FLUSH_SECONDS))
            except queue.Empty:
                writer.flush()
                continue
            writer.add([outcome])
            in_flight -= 1
        if not while_queued:
            time.sleep(max(0.0, until - time.monotonic()))

    try:
        idle_until = time.monotonic() + PACE_SECONDS
        while todo and time.monotonic() < min(deadline, idle_until):
            # the previous allowance handed out before the next is taken: at most the
            # lanes' rows in flight carry over into a new second
            collect(deadline, while_queued=True)
            granted = coordination.reserve_sends(-connector.pk, per_second=per_second, wanted=min(len(todo), per_second))
            for _ in range(granted):
                message = todo.pop()
                works[zlib.crc32(message.recipient.encode()) % len(works)].put(message)
            in_flight += granted
            if granted:
                idle_until = time.monotonic() + PACE_SECONDS  # only waiting on a full window counts
            else:
                collect(time.monotonic() + math.floor(time.time()) + 1 - time.time(), while_queued=False)
    finally:
        for work in works:
            work.put(None)  # after the granted rows: the lanes finish those first
    while in_flight:
        writer.add([answers.get()])
        in_flight -= 1
    for lane in lanes:
        lane.join()
    # Left over: the window stayed full (or the time budget ran out); back to the queue as
    # they were, due at the next second.
    retry_at = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    writer.add(
        _Outcome(m, SendResult(ok=False, code="rate_limited", error="connector send rate", transient=True), retry_at, count=False)
        for m in todo
    )


def _lane(work: queue.Queue, answers: queue.Queue, tenant: Any, deadline: float) -> None:
    """One send thread: the brand's schema for cache keys (its own DB connection is never
    opened by a send), its own kept-alive HTTP connections, closed when it ends."""
    connection.set_tenant(tenant)
    try:
        while (message := work.get()) is not None:
            if time.monotonic() > deadline:
                answers.put(_Outcome(message, SendResult(ok=False, code="rate_limited", error="batch time budget", transient=True),
                                     timezone.now(), count=False))
                continue
            answers.put(_send_one(message))
    finally:
        close_connections()
        connection.close()


def _send_one(message: OutboundMessage) -> _Outcome:
    try:
        result = adapter_for(message.connector.kind).send(message.connector, message)
    except NoAdapter:
        result = SendResult(ok=False, code="no_adapter", error=f"{message.connector.kind} cannot send yet")
    except NotImplementedError as error:
        result = SendResult(ok=False, code="no_adapter", error=str(error))
    except PlatformUnreachable as error:
        result = SendResult(ok=False, code="unreachable", error=str(error), transient=True)
    except Exception as error:  # a bug in an adapter: we cannot know whether it sent, so never resend
        logger.exception("outbound send crashed", extra={"outbound_message": message.pk})
        return _Outcome(message, SendResult(ok=False, code="crashed", error=f"{type(error).__name__}: {error}"),
                        timezone.now(), unknown=True)
    return _Outcome(message, result, timezone.now())


def _refusals(messages: Sequence[OutboundMessage]) -> dict[int, tuple[str, str]]:
    """Rows refused before calling the platform, by id: consent and reply window, checked
    set-wise (per channel: one query for consents, one for the last inbound time)."""
    refusals: dict[int, tuple[str, str]] = {}
    by_channel: dict[str, list[OutboundMessage]] = defaultdict(list)
    for message in messages:
        if message.customer_id is not None:
            by_channel[KIND_CHANNEL[message.connector.kind]].append(message)
    for channel, rows in by_channel.items():
        customer_ids = {m.customer_id for m in rows}
        latest = {
            (customer_id, purpose): status for customer_id, purpose, status in
            Consent.objects.filter(customer_id__in=customer_ids, channel__in=[channel, "all"],
                                   purpose__in={m.purpose for m in rows})
            .order_by("customer_id", "purpose", "-recorded_at", "-id").distinct("customer_id", "purpose")
            .values_list("customer_id", "purpose", "status")
        }
        windowed = {m.pk for m in rows if m.connector.kind in REPLY_WINDOWS and m.kind != OutboundMessage.Kind.TEMPLATE}
        last_inbound = dict(
            Interaction.objects.filter(customer_id__in={m.customer_id for m in rows if m.pk in windowed}, channel=channel)
            .exclude(kind__in=OUTBOUND_INTERACTION_KINDS).values("customer_id").annotate(last=Max("occurred_at"))
            .values_list("customer_id", "last")
        ) if windowed else {}
        now = timezone.now()
        for message in rows:
            consent = latest.get((message.customer_id, message.purpose))
            if message.purpose == OutboundMessage.Purpose.MARKETING and consent != Consent.Status.GRANTED:
                refusals[message.pk] = ("no_consent", "no marketing consent on this channel")
            elif consent == Consent.Status.WITHDRAWN:
                refusals[message.pk] = ("no_consent", "the customer withdrew consent on this channel")
            elif message.pk in windowed:
                window = TAGGED_WINDOW if message.payload.get("tag") == "HUMAN_AGENT" else REPLY_WINDOWS[message.connector.kind]
                last = last_inbound.get(message.customer_id)
                if last is None or now - last > window:
                    hours = int(window.total_seconds() // 3600)
                    refusals[message.pk] = (
                        "outside_window", f"the platform allows replies only within {hours} h of the customer's last message",
                    )
    return refusals


class _OutcomeWriter:
    """Collects answers and writes them back in chunks: one UPDATE … FROM unnest for the
    rows, one INSERT for the sent messages' interactions."""

    def __init__(self, report: DeliveryReport) -> None:
        self.report = report
        self.pending: list[_Outcome] = []
        self.flushed_at = time.monotonic()

    def add(self, outcomes: Iterable[_Outcome]) -> None:
        self.pending.extend(outcomes)
        if len(self.pending) >= FLUSH_SIZE or time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.flushed_at = time.monotonic()
        if self.pending:
            outcomes, self.pending = self.pending, []
            _write_outcomes(outcomes, self.report)


_OUTCOME_SQL = """
UPDATE {outbound} o
   SET status = u.status, attempts = u.attempts, error_code = u.error_code, error = u.error,
       next_attempt_at = coalesce(u.next_attempt_at, o.next_attempt_at),
       sent_at = coalesce(u.sent_at, o.sent_at),
       platform_message_id = coalesce(u.platform_message_id, o.platform_message_id)
  FROM unnest(%b::bigint[], %b::text[], %b::int[], %b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::text[])
       AS u(id, status, attempts, error_code, error, next_attempt_at, sent_at, platform_message_id)
 WHERE o.id = u.id
"""


def _write_outcomes(outcomes: Sequence[_Outcome], report: DeliveryReport) -> None:
    columns: list[list[Any]] = [[] for _ in range(8)]
    interactions = []
    for outcome in outcomes:
        message, result = outcome.message, outcome.result
        attempts = message.attempts + (1 if outcome.count else 0)
        next_attempt_at = sent_at = platform_id = None
        if result.ok:
            status, sent_at, platform_id = OutboundMessage.Status.SENT, outcome.at, result.platform_id[:200]
            report.sent += 1
        elif outcome.unknown:
            status = OutboundMessage.Status.UNKNOWN
            report.unknown += 1
        elif result.transient and attempts < MAX_ATTEMPTS:
            status = OutboundMessage.Status.QUEUED
            next_attempt_at = outcome.at if not outcome.count else outcome.at + timedelta(seconds=2 ** attempts)
            report.retrying += 1
        else:
            status = OutboundMessage.Status.FAILED
            report.failed += 1
        for column, value in zip(columns, (message.pk, status, attempts, result.code[:32], result.error[:2000],
                                           next_attempt_at, sent_at, platform_id), strict=True):
            column.append(value)
        if result.ok and message.customer_id is not None:
            interactions.append(Interaction(
                customer_id=message.customer_id, channel=KIND_CHANNEL[message.connector.kind],
                kind=Interaction.Kind.MESSAGE_OUT, occurred_at=outcome.at, text=str(message.payload.get("text", ""))[:10000],
                external_id=f"out:{message.pk}", metadata={"outbound_message": message.pk},
            ))
    with transaction.atomic():
        execute_bound(_OUTCOME_SQL.format(outbound=_table()), columns)
        insert_unnest(interactions, ignore_conflicts=True)


def _mark_interrupted() -> None:
    OutboundMessage.objects.filter(
        status=OutboundMessage.Status.SENDING, next_attempt_at__lt=timezone.now() - SENDING_TIMEOUT,
    ).update(status=OutboundMessage.Status.UNKNOWN, error="interrupted while sending; not retried to avoid a duplicate")
