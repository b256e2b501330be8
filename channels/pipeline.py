"""The ingestion pipeline: pending RawEvents → interactions on customer profiles.

One micro-batch is one transaction: claim rows (FOR UPDATE SKIP LOCKED, so workers never
share a row), parse, resolve identities in bulk, insert interactions / orders / consents
idempotently, detect language, fan out, count the new interactions into the profiles'
aggregates, mark the rows done. Sentiment is scored after the commit by a task on the
analytics queue (channels.enrichment), so the slow scorer never holds a batch back.
A worker killed mid-batch aborts the transaction, so its rows are pending again and
nothing half-written remains; a re-run inserts nothing twice (ON CONFLICT DO NOTHING on
the external ids).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.types.json import Jsonb

from channels import enrichment, hooks
from channels.adapters import NoAdapter, Rejected, adapter_for
from channels.events import InboundEvent
from channels.identities import VIA_IDENTITY, identity_ref, resolve_claims
from channels.models import Connector, RawEvent
from customers.models import Consent, Interaction, Order
from customers.services import add_interactions_to_aggregates, refresh_customer_aggregates
from scrm.db import execute_bound, fetch_bound

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Taken instead when at least twice as many wait (a backlog after an outage or a burst).
LARGE_BATCH_SIZE = 2000
MAX_ATTEMPTS = 5


@dataclass
class BatchResult:
    claimed: int = 0
    interactions: int = 0
    failed: int = 0
    unhandled: int = 0


def process_pending_batch(*, limit: int = BATCH_SIZE) -> BatchResult:
    """Process up to `limit` pending raw events. Returns what happened.

    When the batch fails as a whole (a database or subscriber error), it rolls back and
    its events are processed one by one, so one poisonous event is isolated (attempts
    counted, failed after MAX_ATTEMPTS) instead of holding back the other 499."""
    claimed: list[int] = []
    try:
        return _process(limit, claimed=claimed)
    except Exception:
        logger.exception("ingest batch failed; retrying its events one by one")
    result = BatchResult(claimed=len(claimed))
    for raw_id in claimed:
        try:
            single = _process(1, only_id=raw_id)
        except Exception as error:
            logger.exception("ingest event failed", extra={"raw_event": raw_id})
            _record_failure(raw_id, error)
            continue
        result.interactions += single.interactions
        result.failed += single.failed
        result.unhandled += single.unhandled
    return result


def _process(limit: int, *, claimed: list[int] | None = None, only_id: int | None = None) -> BatchResult:
    result = BatchResult()
    with transaction.atomic():
        pending = RawEvent.objects.select_for_update(skip_locked=True, of=("self",)).filter(status=RawEvent.Status.PENDING)
        if only_id is not None:
            pending = pending.filter(pk=only_id)
        raws = list(pending.order_by("id")[:limit])
        if claimed is not None:
            claimed.extend(raw.pk for raw in raws)
        result.claimed = len(raws)
        if not raws:
            return result
        # One instance per connector, not per row: its secrets are decrypted once a batch.
        connectors = Connector.objects.in_bulk({raw.connector_id for raw in raws})
        events: list[tuple[RawEvent, InboundEvent]] = []
        outcome: dict[int, tuple[str, str, list[str]]] = {}
        for raw in raws:
            connector = connectors[raw.connector_id]
            try:
                parsed = adapter_for(connector.kind).parse(connector, raw)
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
    enrichment.enrich([event for _raw, event in events])  # language only; sentiment follows
    with_customer = [(raw, event, customer_id) for (raw, event), customer_id in zip(events, customer_ids, strict=True)]
    new = _insert_interactions([row for row in with_customer if row[1].kind])
    new_keys = {(item.channel, item.external_id) for item in new}
    with_orders = [(event, customer_id) for _raw, event, customer_id in with_customer if event.order]
    _upsert_orders(with_orders)
    _record_consents([
        (event, customer_id) for _raw, event, customer_id in with_customer
        if event.consent and (event.channel, event.external_id) in new_keys
    ])
    hooks.publish(new)
    # Only what is new is counted in: the cost follows the batch, not the customers' history.
    add_interactions_to_aggregates(interactions=[(i.customer_id, i.channel, i.kind, i.occurred_at) for i in new])
    if with_orders:  # orders are rare next to messages; their figures are recomputed
        refresh_customer_aggregates(customer_ids={customer_id for _event, customer_id in with_orders})
    unscored = [i.id for i in new if enrichment.needs_sentiment(text=i.text, language=i.language, sentiment=i.sentiment)]
    if unscored:
        transaction.on_commit(partial(enrichment.schedule_sentiment, unscored))
    return len(new)


_INSERT_SQL = """
INSERT INTO {table} (customer_id, channel, kind, occurred_at, text, metadata, sentiment, language, external_id)
SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::jsonb[],
                     %b::float8[], %b::text[], %b::text[])
ON CONFLICT DO NOTHING
RETURNING id, customer_id, channel, kind, occurred_at, external_id
"""


def _insert_interactions(rows: list[tuple[RawEvent, InboundEvent, int]]) -> list[hooks.NewInteraction]:
    if not rows:
        return []
    columns: list[list[object]] = [[] for _ in range(9)]
    for _raw, event, customer_id in rows:
        # Which identity the event came through, so an unmerge can send it back.
        if event.claim.identities and (via := identity_ref(event.claim.identities[0])):
            event.metadata[VIA_IDENTITY] = via
        # NUL is the one character PostgreSQL text cannot hold; everything else is kept.
        text = event.text.replace("\x00", "\ufffd")
        values = (customer_id, event.channel, event.kind, event.occurred_at, text, Jsonb(event.metadata),
                  event.sentiment, event.language, event.external_id)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    rows_back = fetch_bound(_INSERT_SQL.format(table=connection.ops.quote_name(Interaction._meta.db_table)), columns)
    inserted = {(channel, external_id): (pk, customer_id, kind, occurred_at)
                for pk, customer_id, channel, kind, occurred_at, external_id in rows_back}
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


_MARK_SQL = """
UPDATE {table} r
   SET status = m.status, error = m.error, unhandled_types = m.unhandled, processed_at = %b,
       attempts = r.attempts + 1
  FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::jsonb[]) AS m(id, status, error, unhandled)
 WHERE r.id = m.id
"""


def _mark(raws: list[RawEvent], outcome: dict[int, tuple[str, str, list[str]]]) -> None:
    ids = [raw.pk for raw in raws]
    execute_bound(
        _MARK_SQL.format(table=connection.ops.quote_name(RawEvent._meta.db_table)),
        [timezone.now(), ids, [outcome[pk][0] for pk in ids], [outcome[pk][1] for pk in ids],
         [Jsonb(outcome[pk][2]) for pk in ids]],
    )
    latest: dict[int, datetime] = {}
    for raw in raws:
        latest[raw.connector_id] = max(latest.get(raw.connector_id, raw.received_at), raw.received_at)
    errors = {raw.connector_id: outcome[raw.pk][1][:2000] for raw in raws if outcome[raw.pk][0] == RawEvent.Status.FAILED}
    connector_ids = sorted(latest)  # one lock order: no deadlocks
    with connection.cursor() as cursor:
        cursor.execute(
            _CONNECTOR_SQL.format(table=connection.ops.quote_name(Connector._meta.db_table)),
            [timezone.now(), connector_ids, [latest[pk] for pk in connector_ids],
             [errors.get(pk) for pk in connector_ids]],
        )


_CONNECTOR_SQL = """
UPDATE {table} c
   SET last_event_at = GREATEST(c.last_event_at, u.at),
       last_error = COALESCE(u.error, c.last_error),
       last_error_at = CASE WHEN u.error IS NULL THEN c.last_error_at ELSE %s END
  FROM (SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS u(id, at, error) ORDER BY id) u
 WHERE c.id = u.id
"""


def _record_failure(raw_id: int, error: Exception) -> None:
    """Count an attempt; past MAX_ATTEMPTS the event is failed (kept with its error,
    retryable from the dead-letter page), before that it stays pending for the sweeper."""
    message = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        RawEvent.objects.filter(pk=raw_id, status=RawEvent.Status.PENDING).update(attempts=F("attempts") + 1, error=message)
        RawEvent.objects.filter(pk=raw_id, status=RawEvent.Status.PENDING, attempts__gte=MAX_ATTEMPTS).update(
            status=RawEvent.Status.FAILED, processed_at=timezone.now()
        )
