"""Thin Celery entry points for the ingestion pipeline (queue `ingest`; sentiment on `analytics`)."""

from __future__ import annotations

import time
from typing import Any

from celery.signals import worker_process_init

from channels import coordination, enrichment, pipeline, selectors, services
from scrm.tasks import brand_task


@worker_process_init.connect
def load_enrichment_models(**_kwargs: Any) -> None:
    enrichment.warm()


# A second worker is asked to join only for a real backlog. At a steady inflow, two
# batches side by side hold the same chatty customers' new identities and conversations,
# and each waits for the other's whole batch to commit: webhook → visible p95 was 2.5 s
# with one worker and 21 s with two at 500 events/s (bench/RESULTS.md, inbox, session 4).
PARALLEL_BACKLOG = 2 * pipeline.BATCH_SIZE


@brand_task(acks_late=True, reject_on_worker_lost=True)
def process_events_task() -> int:
    """Process one batch. With a deep backlog, first enqueue a successor so a second
    worker can claim the next batch (SKIP LOCKED) while this one works; otherwise the
    batches follow one another."""
    chained = selectors.pending_backlog_at_least(PARALLEL_BACKLOG + 1)
    if chained:
        process_events_task.apply_async()
    # A deep backlog is taken in larger batches: the per-batch statements cost less per event.
    limit = pipeline.LARGE_BATCH_SIZE if chained and selectors.pending_backlog_at_least(
        2 * pipeline.LARGE_BATCH_SIZE) else pipeline.BATCH_SIZE
    claimed = pipeline.process_pending_batch(limit=limit).claimed
    processed = claimed
    if claimed < limit:
        # Drained: let the next webhook schedule a batch, then look once more for rows
        # committed between our claim and the release.
        coordination.release_schedule()
        time.sleep(coordination.SETTLE_SECONDS)  # see coordination.CLAIM_EVERY_SECONDS
        claimed = pipeline.process_pending_batch().claimed
        processed += claimed
    if claimed >= limit and not chained:
        process_events_task.apply_async()  # more may wait, and the flag is still held
    return processed


@brand_task(acks_late=True, queue="analytics")
def score_sentiment_task(interaction_ids: list[int]) -> int:
    """Fill in sentiment for interactions the pipeline wrote without it (idempotent)."""
    return enrichment.score_sentiments(interaction_ids)


@brand_task(acks_late=True)
def sweep_pending_events_task() -> int:
    """Beat, every 10 s where deliveries wait (due_sql): a batch for events whose task was lost."""
    return services.requeue_stale_pending()


sweep_pending_events_task.due_sql = (
    "EXISTS (SELECT 1 FROM {schema}.channels_rawevent WHERE status = 'pending'"
    f" AND received_at < statement_timestamp() - interval '{services.STALE_PENDING_SECONDS} seconds')"
)


@brand_task(acks_late=True)
def sweep_unscored_task() -> int:
    """Beat, every minute in every brand: sentiment for texts whose scoring task was lost."""
    return enrichment.requeue_unscored()


@brand_task(acks_late=True)
def deliver_outbound_task() -> int:
    """Deliver one claim of due rows. While rows are due now, ask for the next claim at
    once instead of waiting for the sweeper; when this claim left rows for the next
    second (the connector's window was full), ask again a second later."""
    from channels import outbox

    report = outbox.deliver_due_messages()
    if report.claimed and outbox.has_due_messages():
        deliver_outbound_task.delay()
    elif report.claimed and outbox.has_due_messages(within=outbox.SHORT_RETRY):
        deliver_outbound_task.apply_async(countdown=1)
    return report.sent


@brand_task(acks_late=True)
def sweep_outbound_task() -> int:
    """Beat: deliver rows whose backoff has passed (scheduled in the database)."""
    from channels import outbox

    return outbox.deliver_due_messages().sent


# The beat queues the sweep only in brands with a row due (scrm.tenancy.fan_out): an
# index-only probe of the partial index outbound_due.
sweep_outbound_task.due_sql = (
    "EXISTS (SELECT 1 FROM {schema}.channels_outboundmessage"
    " WHERE status = 'queued' AND next_attempt_at <= statement_timestamp())"
)


@brand_task(acks_late=True)
def purge_processed_raw_events_task() -> int:
    return services.purge_processed_raw_events()
