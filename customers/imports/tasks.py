"""Celery entry point for imports: takes an id, calls the service."""

from __future__ import annotations

from scrm.tasks import brand_task


@brand_task(queue="default", acks_late=True)
def run_import_task(job_id: int) -> None:
    from customers.imports.services import run_import

    run_import(job_id=job_id)
