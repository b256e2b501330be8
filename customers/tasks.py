"""Celery entry points for customer profiles: thin wrappers around services."""

from __future__ import annotations

from scrm.tasks import brand_task


@brand_task(queue="analytics")
def suggest_merges_task() -> int:
    """Find new merge suggestions across the brand (blocking in SQL, rapidfuzz scoring)."""
    from customers.suggestions import run_suggestions_with_progress

    return run_suggestions_with_progress()


@brand_task(queue="analytics")
def refresh_all_aggregates_task() -> int:
    """Nightly: recompute every customer's windowed counts and order figures. Ingestion adds
    new interactions incrementally; only a full pass ages old activity out of the 7/30/90-day
    windows (and repairs anything a crash left half-counted)."""
    from customers.services import refresh_customer_aggregates

    return refresh_customer_aggregates()
