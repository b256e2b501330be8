"""The ingestion pipeline: pending RawEvents → interactions on customer profiles.

One micro-batch is one transaction: claim rows (FOR UPDATE SKIP LOCKED, so workers never
share a row), parse, resolve identities in bulk, insert interactions / orders / consents
idempotently, enrich, fan out, refresh aggregates, mark the rows done. A worker killed
mid-batch aborts the transaction, so its rows are pending again and nothing half-written
remains; a re-run inserts nothing twice (ON CONFLICT DO NOTHING on the external ids).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.types.json import Jsonb

from channels import enrichment, hooks
from channels.adapters import NoAdapter, Rejected, adapter_for
from channels.events import InboundEvent
from channels.identities import resolve_claims
from channels.models import Connector, RawEvent
from customers.models import Consent, Interaction, Order
from customers.services import refresh_customer_aggregates

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_ATTEMPTS = 5


@dataclass
class BatchResult:
    claimed: int = 0
    interactions: int = 0
    failed: int = 0
    unhandled: int = 0


def process_pending_batch(*, limit: int = BATCH_SIZE) -> BatchResult:
    """Process up to `limit` pending raw events. Returns what happened."""
    try:
        return _process(limit)
    except Exception as error:  # a database or subscriber error: the batch rolled back
        logger.exception("ingest batch failed; its events stay pending for a retry")
        _record_batch_failure(limit, error)
        raise


def _process(limit: int) -> BatchResult:
    result = BatchResult()
    with transaction.atomic():
        raws = list(
            RawEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=RawEvent.Status.PENDING)
            .select_related("connector")
            .order_by("id")[:limit]
        )
        result.claimed = len(raws)
        if not raws:
            return result
        events: list[tuple[RawEvent, InboundEvent]] = []
        outcome: dict[int, tuple[str, str, list[str]]] = {}
        for raw in raws:
            try:
                parsed = adapter_for(raw.connector.kind).parse(raw.connector, raw)
            except (Rejected, NoAdapter, KeyError, ValueError, TypeError, AttributeError) as error:
                # Deterministic: the same bytes fail the same way, so no retry.
                outcome[raw.pk] = (RawEvent.Status.FAILED, f"parse: {type(error).__name__}: {error}", [])
                result.failed += 1
                continue
            events += [(raw, event) for event in parsed.events]
            status = RawEvent.Status.UNHANDLED if parsed.unhandled and not parsed.events else RawEvent.Status.DONE
            result.unhandled += status == RawEvent.Status.UNHANDLED
            outcome[raw.pk] = (status, "", parsed.unhandled)
        if events:
            result.interactions = _apply(events)
        _mark(raws, outcome)
    return result


def _apply(events: list[tuple[RawEvent, InboundEvent]]) -> int:
    customer_ids = resolve_claims([event.claim for _raw, event in events])
    enrichment.enrich([event for _raw, event in events])
    with_customer = [(raw, event, customer_id) for (raw, event), customer_id in zip(events, customer_ids, strict=True)]
    new = _insert_interactions([row for row in with_customer if row[1].kind])
    new_keys = {(item.channel, item.external_id) for item in new}
    _upsert_orders([(event, customer_id) for _raw, event, customer_id in with_customer if event.order])
    _record_consents([
        (event, customer_id) for _raw, event, customer_id in with_customer
        if event.consent and (event.channel, event.external_id) in new_keys
    ])
    hooks.publish(new)
    refresh_customer_aggregates(customer_ids=set(customer_ids))
    return len(new)


_INSERT_SQL = """
INSERT INTO {table} (customer_id, channel, kind, occurred_at, text, metadata, sentiment, language, external_id)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::jsonb[],
                     %s::float8[], %s::text[], %s::text[])
ON CONFLICT DO NOTHING
RETURNING id, customer_id, channel, kind, occurred_at, external_id
"""


def _insert_interactions(rows: list[tuple[RawEvent, InboundEvent, int]]) -> list[hooks.NewInteraction]:
    if not rows:
        return []
    columns: list[list[object]] = [[] for _ in range(9)]
    for _raw, event, customer_id in rows:
        # NUL is the one character PostgreSQL text cannot hold; everything else is kept.
        text = event.text.replace("\x00", "\ufffd")
        values = (customer_id, event.channel, event.kind, event.occurred_at, text, Jsonb(event.metadata),
                  event.sentiment, event.language, event.external_id)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL.format(table=connection.ops.quote_name(Interaction._meta.db_table)), columns)
        inserted = {(channel, external_id): (pk, customer_id, kind, occurred_at)
                    for pk, customer_id, channel, kind, occurred_at, external_id in cursor.fetchall()}
    new = []
    for raw, event, _customer_id in rows:
        found = inserted.pop((event.channel, event.external_id), None)
        if found:
            pk, customer_id, kind, occurred_at = found
            new.append(hooks.NewInteraction(
                id=pk, customer_id=customer_id, channel=event.channel, kind=kind, occurred_at=occurred_at,
                text=event.text, external_id=event.external_id, connector_id=raw.connector_id,
                language=event.language, sentiment=event.sentiment, metadata=event.metadata,
            ))
    return new


def _upsert_orders(rows: list[tuple[InboundEvent, int]]) -> None:
    paid = {event.order.external_id: (event, customer_id) for event, customer_id in rows if event.order.status == Order.Status.PAID}
    if paid:
        Order.objects.bulk_create(
            [
                Order(
                    external_id=order_id, customer_id=customer_id, ordered_at=event.occurred_at,
                    amount=event.order.amount, currency=event.order.currency, items=event.order.items,
                    store=event.order.store, channel=event.channel, status=Order.Status.PAID,
                )
                for order_id, (event, customer_id) in paid.items()
            ],
            ignore_conflicts=True,
        )
    refunded = {event.order.external_id for event, _customer_id in rows if event.order.status == Order.Status.REFUNDED}
    if refunded:
        Order.objects.filter(external_id__in=refunded).update(status=Order.Status.REFUNDED)


def _record_consents(rows: list[tuple[InboundEvent, int]]) -> None:
    Consent.objects.bulk_create([
        Consent(
            customer_id=customer_id, channel=event.channel, purpose=purpose, status=event.consent.status,
            recorded_at=event.occurred_at, source=event.consent.source,
            evidence={"external_id": event.external_id},
        )
        for event, customer_id in rows
        for purpose in event.consent.purposes
    ])


def _mark(raws: list[RawEvent], outcome: dict[int, tuple[str, str, list[str]]]) -> None:
    now = timezone.now()
    for raw in raws:
        raw.status, raw.error, raw.unhandled_types = outcome[raw.pk]
        raw.processed_at = now
        raw.attempts += 1
    RawEvent.objects.bulk_update(raws, ["status", "error", "unhandled_types", "processed_at", "attempts"])
    latest: dict[int, datetime] = defaultdict(lambda: raws[0].received_at)
    for raw in raws:
        latest[raw.connector_id] = max(latest[raw.connector_id], raw.received_at)
    for connector_id, at in sorted(latest.items()):  # one lock order: no deadlocks
        Connector.objects.filter(pk=connector_id).update(last_event_at=at)


def _record_batch_failure(limit: int, error: Exception) -> None:
    """Count an attempt on the oldest pending rows; past MAX_ATTEMPTS they are failed
    (kept with the error, retryable from the dead-letter page)."""
    with transaction.atomic():
        ids = list(
            RawEvent.objects.select_for_update(skip_locked=True)
            .filter(status=RawEvent.Status.PENDING).order_by("id").values_list("id", flat=True)[:limit]
        )
        message = f"{type(error).__name__}: {error}"[:2000]
        RawEvent.objects.filter(id__in=ids).update(attempts=F("attempts") + 1, error=message)
        RawEvent.objects.filter(id__in=ids, attempts__gte=MAX_ATTEMPTS).update(
            status=RawEvent.Status.FAILED, processed_at=timezone.now()
        )
