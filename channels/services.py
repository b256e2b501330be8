"""Writes for connectors and raw events: the only place their state changes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from psycopg.types.json import Jsonb

from channels import coordination
from channels.models import Connector, RawEvent
from scrm.staff.services import record_audit

logger = logging.getLogger(__name__)


def store_raw_event(
    *, connector: Connector, body: bytes, dedupe_key: str, headers: Mapping[str, str],
    query: Mapping[str, str] | None = None,
) -> bool:
    """Commit the delivery (once per dedupe key), then ask for a processing batch.

    Returns False for a redelivery we already hold. The row is committed before this
    returns, so the caller's 200 is never sent for an event that could still be lost: the
    one INSERT runs in autocommit (one round trip, no BEGIN/COMMIT), or, when the caller
    holds a transaction, commits with it and the batch is asked for after that commit.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL.format(table=connection.ops.quote_name(RawEvent._meta.db_table)),
            [connector.pk, timezone.now(), Jsonb(dict(headers)), Jsonb(dict(query or {})), body, dedupe_key[:200]],
        )
        is_new = cursor.fetchone() is not None
    transaction.on_commit(schedule_processing_soon)  # at once in autocommit
    return is_new


_STORE_SQL = """
INSERT INTO {table} (connector_id, received_at, headers, query, body, dedupe_key, status, attempts, error, unhandled_types)
VALUES (%s, %s, %s, %s, %s, %s, 'pending', 0, '', '[]'::jsonb)
ON CONFLICT (connector_id, dedupe_key) DO NOTHING
RETURNING id
"""


def schedule_processing_soon() -> None:
    """`schedule_processing`, unless this process asked moments ago (coordination)."""
    if not coordination.asked_recently():
        schedule_processing()


def schedule_processing() -> None:
    """Enqueue one processing task unless one is already scheduled. Never raises: when
    the broker is unreachable the rows wait in PostgreSQL for the sweeper."""
    if not coordination.claim_schedule():
        return
    from channels.tasks import process_events_task

    try:
        process_events_task.apply_async(retry=False)
    except Exception as error:  # kombu/redis connection errors of every flavour
        coordination.release_schedule()
        logger.warning("could not enqueue ingest batch; the sweeper will", extra={"error": str(error)})


def create_connector(
    *, kind: str, name: str, config: dict[str, Any], secrets: dict[str, str], actor: User | None,
    request: HttpRequest | None = None,
) -> Connector:
    with transaction.atomic():
        connector = Connector(kind=kind, name=name, config=config)
        connector.set_secrets(secrets)
        connector.full_clean()
        connector.save()
        record_audit(
            actor=actor, action="connector.create", obj=connector, request=request,
            changes={"kind": kind, "name": name, "config": config, "secrets_set": sorted(k for k, v in secrets.items() if v)},
        )
    return connector


def update_connector(
    *, connector: Connector, name: str, enabled: bool, config: dict[str, Any], secrets: dict[str, str],
    actor: User | None, request: HttpRequest | None = None,
) -> Connector:
    """Blank secrets keep their stored value: a secret is never shown, so never retyped."""
    with transaction.atomic():
        before = {"name": connector.name, "enabled": connector.enabled, "config": connector.config}
        connector.name, connector.enabled, connector.config = name, enabled, config
        connector.set_secrets(secrets)
        connector.full_clean()
        connector.save()
        record_audit(
            actor=actor, action="connector.update", obj=connector, request=request,
            changes={"before": before, "after": {"name": name, "enabled": enabled, "config": config},
                     "secrets_changed": sorted(k for k, v in secrets.items() if v)},
        )
    return connector


def retry_failed_events(
    *, connector: Connector, event_ids: list[int] | None = None, actor: User | None, request: HttpRequest | None = None,
) -> int:
    """Put failed events back to pending (all of the connector's, or the ones named)."""
    with transaction.atomic():
        failed: QuerySet[RawEvent] = connector.raw_events.filter(status=RawEvent.Status.FAILED)
        if event_ids is not None:
            failed = failed.filter(pk__in=event_ids)
        count = failed.update(status=RawEvent.Status.PENDING, attempts=0, processed_at=None)
        record_audit(actor=actor, action="connector.retry_failed", obj=connector, request=request, changes={"events": count})
        transaction.on_commit(schedule_processing)
    return count


STALE_PENDING_SECONDS = 15


def requeue_stale_pending(*, older_than_seconds: int = STALE_PENDING_SECONDS) -> int:
    """The sweeper: if pending events have waited too long, enqueue a batch regardless of
    the scheduled flag (its task may have been lost with Redis). Returns how many wait."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    waiting = RawEvent.objects.filter(status=RawEvent.Status.PENDING, received_at__lt=cutoff).count()
    if waiting:
        coordination.release_schedule()
        schedule_processing()
    return waiting


# Processed deliveries hold personal data (message text, emails) that erasure cannot
# find by customer; they are kept only long enough to debug and replay, then deleted.
# Failed deliveries stay until retried or the connector is deleted (dead letters).
RAW_EVENT_RETENTION = timedelta(days=7)


def purge_processed_raw_events(*, older_than: timedelta = RAW_EVENT_RETENTION) -> int:
    cutoff = timezone.now() - older_than
    deleted, _by_model = RawEvent.objects.filter(
        status__in=[RawEvent.Status.DONE, RawEvent.Status.UNHANDLED], processed_at__lt=cutoff,
    ).delete()
    return deleted
