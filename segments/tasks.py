"""Celery entry points for segments and scores: thin wrappers around the services.

Beat fans these out to every brand (scrm.tasks.fan_out_task); views enqueue them on
commit. They run on the analytics queue.
"""

from __future__ import annotations

from scrm.tasks import brand_task
from segments import scores, services
from segments.models import Segment


@brand_task(acks_late=True, queue="analytics")
def refresh_segments_task() -> int:
    return services.refresh_dynamic_segments()


@brand_task(acks_late=True, queue="analytics")
def refresh_segments_for_customers_task(customer_ids: list[int]) -> int:
    """After some customers changed (ingestion, import, merge): only they are re-checked."""
    return services.refresh_dynamic_segments(customer_ids=customer_ids)


@brand_task(acks_late=True, queue="analytics")
def refresh_segment_task(segment_id: int) -> int | None:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return None
    Segment.objects.filter(pk=segment_id).update(status=Segment.Status.RUNNING)
    result = services.refresh_segment(segment=segment)
    return None if result is None else result.size


@brand_task(acks_late=True, queue="analytics")
def compute_scores_task() -> int:
    return scores.compute_scores().customers
