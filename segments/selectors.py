"""Reads: who matches a rule, who is in a segment, and the figures the pages show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from customers.models import Customer
from customers.selectors import live_customers
from segments.models import MembershipEvent, Segment, SegmentMembership, SegmentSize
from segments.rules import compile_rule


def matching_customers(rule: Any, *, now: datetime | None = None, segment_id: int | None = None) -> QuerySet[Customer]:
    """Live customers the rule selects (one query; raises RuleError on a bad rule)."""
    return live_customers().filter(compile_rule(rule, now=now, segment_id=segment_id))


def segment_members(segment: Segment) -> QuerySet[Customer]:
    """The materialized members (live customers only), newest entries first."""
    return live_customers().filter(
        Exists(SegmentMembership.objects.filter(segment=segment, customer=OuterRef("pk")))
    ).order_by("-id")


def audience(segment: Segment) -> QuerySet[Customer]:
    """A segment as a campaign audience: its current members. Campaigns should refresh a
    dynamic segment (services.refresh_segment) right before a send if they need it fresh."""
    return segment_members(segment)


def size_history(segment: Segment, *, limit: int = 90) -> list[tuple[str, int]]:
    rows = list(SegmentSize.objects.filter(segment=segment).order_by("-at").values_list("at", "size")[:limit])
    return [(at.strftime("%m-%d %H:%M"), size) for at, size in reversed(rows)]


def recent_events(segment: Segment, *, limit: int = 50) -> QuerySet[MembershipEvent]:
    return MembershipEvent.objects.filter(segment=segment).select_related("customer").order_by("-at", "-id")[:limit]


def sparklines(segments: list[Segment], *, points: int = 20) -> dict[int, list[tuple[str, int]]]:
    """The last `points` sizes of each listed segment (one query for the page)."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    ranked = (
        SegmentSize.objects.filter(segment__in=segments)
        .annotate(rank=Window(RowNumber(), partition_by=[F("segment_id")], order_by=F("at").desc()))
        .filter(rank__lte=points)
        .values_list("segment_id", "at", "size")
    )
    lines: dict[int, list[tuple[str, int]]] = {s.pk: [] for s in segments}
    for segment_id, at, size in sorted(ranked, key=lambda row: row[1]):
        lines[segment_id].append((at.strftime("%m-%d"), size))
    return lines


PREVIEW_SAMPLE = 10


def preview(rule: Any, *, segment_id: int | None = None) -> dict[str, Any]:
    """Count and a sample for the builder's live preview, bounded by a statement timeout
    so a heavy rule cannot hold a web worker (raises RuleError on a bad rule)."""
    from django.db import connection, transaction

    customers = matching_customers(rule, segment_id=segment_id)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', '8000', true)")
        count = customers.count()
        sample = list(customers.order_by("-last_seen_at", "-id").only("id", "display_name", "city", "last_seen_at")[:PREVIEW_SAMPLE])
    return {"count": count, "sample": sample}
