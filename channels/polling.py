"""Polling connectors: platforms without webhooks (Weibo comments and mentions, email over
IMAP) are fetched on a schedule kept in the database, never with Celery countdowns.

Beat runs `poll_due_connectors_task` in every brand; it enqueues one
`poll_connector_task` per enabled polling connector whose `next_poll_at` has come. A poll
claims its connector with a lease (so two workers never poll one account at once and a
crashed poll is retried when the lease runs out), fetches from the platform outside any
transaction, then stores every fetched item as a RawEvent (the webhook's dedupe rules:
INSERT … ON CONFLICT DO NOTHING on the connector and dedupe key) together with the new
cursor in one transaction. The pipeline turns the rows into interactions: polling never
writes interactions itself. A crash after the fetch re-fetches the same items next time,
which the dedupe key absorbs.

Errors and platform rate limits back off exponentially (interval × 2^failures, capped),
recorded on the connector as next_poll_at, last_error and poll_failures.
"""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from channels import services
from channels.adapters.http import PlatformUnreachable
from channels.adapters.polled import PollBatch, PolledItem, PollError
from channels.models import Connector, RawEvent
from scrm.tasks import brand_task

logger = logging.getLogger(__name__)

__all__ = ["PollBatch", "PollError", "PolledItem", "poll_connector", "poll_connector_task", "poll_due_connectors_task"]

DEFAULT_INTERVAL = timedelta(seconds=60)
MIN_INTERVAL = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
# How long a claimed poll may run before another worker may poll the connector again.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class PollOutcome:
    polled: bool
    fetched: int = 0
    stored: int = 0
    error: str = ""


def _pollers() -> dict[str, Callable[[Connector], PollBatch]]:
    from channels.adapters import email, weibo_poll

    return {"weibo": weibo_poll.poll, "email": email.poll}


POLLING_KINDS = ("weibo", "email")


def poll_interval(connector: Connector) -> timedelta:
    try:
        seconds = int(connector.config.get("poll_interval_seconds") or 0)
    except (TypeError, ValueError):
        seconds = 0
    return max(timedelta(seconds=seconds), MIN_INTERVAL) if seconds else DEFAULT_INTERVAL


def due_connector_ids(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Connector.objects.filter(kind__in=POLLING_KINDS, enabled=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .order_by("next_poll_at", "id").values_list("pk", flat=True)
    )


def poll_connector(*, connector_id: int) -> PollOutcome:
    """Poll one connector if it is due, store what it fetched, move its cursor."""
    connector = _claim(connector_id)
    if connector is None:
        return PollOutcome(polled=False)
    try:
        batch = _pollers()[connector.kind](connector)
    except PollError as error:
        _record_failure(connector, str(error), retry_after=error.retry_after)
        return PollOutcome(polled=True, error=str(error))
    except (PlatformUnreachable, OSError, imaplib.IMAP4.error) as error:
        message = f"{type(error).__name__}: {error}"
        _record_failure(connector, message)
        return PollOutcome(polled=True, error=message)
    stored = _store(connector, batch)
    return PollOutcome(polled=True, fetched=len(batch.items), stored=stored)


def _claim(connector_id: int) -> Connector | None:
    """Take the poll lease: only the caller that moves next_poll_at forward polls."""
    now = timezone.now()
    claimed = (
        Connector.objects.filter(pk=connector_id, kind__in=POLLING_KINDS, enabled=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .update(next_poll_at=now + LEASE)
    )
    return Connector.objects.filter(pk=connector_id).first() if claimed else None


_STORE_SQL = """
INSERT INTO {table} (connector_id, received_at, headers, query, body, dedupe_key, status, attempts, error, unhandled_types)
SELECT %s, %s, '{{}}'::jsonb, q, b, k, 'pending', 0, '', '[]'::jsonb
FROM unnest(%s::jsonb[], %s::bytea[], %s::text[]) AS item(q, b, k)
ON CONFLICT (connector_id, dedupe_key) DO NOTHING
"""


def _store(connector: Connector, batch: PollBatch) -> int:
    """The fetched items and the new cursor, in one transaction (one INSERT for all)."""
    now = timezone.now()
    # One poll may fetch the same item twice (a comment that is also a mention): keep one.
    unique = {item.dedupe_key[:200]: item for item in batch.items}
    with transaction.atomic():
        stored = 0
        if unique:
            with connection.cursor() as cursor:
                cursor.execute(
                    _STORE_SQL.format(table=connection.ops.quote_name(RawEvent._meta.db_table)),
                    [connector.pk, now, [Jsonb(item.query) for item in unique.values()],
                     [item.body for item in unique.values()], list(unique)],
                )
                stored = cursor.rowcount
        next_poll = now if batch.more else now + poll_interval(connector)
        fields: dict[str, Any] = {"cursor": batch.cursor, "last_poll_at": now, "next_poll_at": next_poll, "poll_failures": 0}
        if stored:
            fields["last_event_at"] = now
        Connector.objects.filter(pk=connector.pk).update(**fields)
        if stored:
            transaction.on_commit(services.schedule_processing)
    return stored


def _record_failure(connector: Connector, message: str, *, retry_after: float | None = None) -> None:
    now = timezone.now()
    failures = connector.poll_failures + 1
    delay = min(poll_interval(connector) * 2 ** min(failures, 16), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    logger.warning("poll failed", extra={"connector": connector.pk, "failures": failures, "error": message[:500]})
    Connector.objects.filter(pk=connector.pk).update(
        last_poll_at=now, next_poll_at=now + delay, poll_failures=failures,
        last_error=message[:2000], last_error_at=now,
    )


# --- Celery entry points (queue `ingest`, by the channels.* route) ----------------------


@brand_task(acks_late=True)
def poll_due_connectors_task() -> int:
    """Beat, in every brand: one poll task per polling connector that is due."""
    due = due_connector_ids()
    for connector_id in due:
        poll_connector_task.delay(connector_id)
    return len(due)


# Queued by the beat only in brands with a polling connector due (scrm.tenancy.fan_out).
poll_due_connectors_task.due_sql = (
    "EXISTS (SELECT 1 FROM {schema}.channels_connector WHERE enabled AND kind IN ("
    + ", ".join(f"'{kind}'" for kind in POLLING_KINDS)
    + ") AND (next_poll_at IS NULL OR next_poll_at <= statement_timestamp()))"
)


@brand_task(acks_late=True, reject_on_worker_lost=True)
def poll_connector_task(connector_id: int) -> int:
    outcome = poll_connector(connector_id=connector_id)
    if outcome.polled and not outcome.error and _more_waiting(connector_id):
        poll_connector_task.delay(connector_id)
    return outcome.stored


def _more_waiting(connector_id: int) -> bool:
    return Connector.objects.filter(pk=connector_id, next_poll_at__lte=timezone.now()).exists()
