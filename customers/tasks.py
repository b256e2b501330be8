"""Celery entry points for customer profiles: thin wrappers around services."""

from __future__ import annotations

from scrm.tasks import brand_task


@brand_task(queue="analytics")
def suggest_merges_task() -> int:
    """Find new merge suggestions across the brand (blocking in SQL, rapidfuzz scoring)."""
    from customers.suggestions import run_suggestions_with_progress

    return run_suggestions_with_progress()
