"""Reads for connector pages and the pipeline: status figures, backlog, dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from channels.models import Connector, OutboundMessage, RawEvent
from customers.models import Interaction


def pending_backlog_at_least(n: int) -> bool:
    return RawEvent.objects.filter(status=RawEvent.Status.PENDING).order_by("id")[n - 1 : n].exists()


def unscored_interaction_ids(*, window: int, languages: tuple[str, ...]) -> list[int]:
    """Ids among the latest `window` interactions (a primary-key range scan, so the cost
    is bounded whatever the table's size) with scorable text and no sentiment yet."""
    latest = Interaction.objects.order_by("-id").values_list("id", flat=True).first()
    if latest is None:
        return []
    return list(
        Interaction.objects.filter(id__gt=latest - window, sentiment__isnull=True, language__in=languages)
        .exclude(text="").order_by("id").values_list("id", flat=True)
    )


@dataclass(frozen=True)
class ConnectorStatus:
    connector: Connector
    last_event_at: datetime | None
    events_last_hour: int
    failed_last_hour: int
    backlog: int
    failed_total: int
    unhandled_total: int

    @property
    def error_rate(self) -> float:
        return self.failed_last_hour / self.events_last_hour if self.events_last_hour else 0.0


def connector_statuses() -> list[ConnectorStatus]:
    """Every connector with its figures, in one aggregate query over raw events."""
    hour_ago = timezone.now() - timedelta(hours=1)
    connectors = Connector.objects.annotate(
        latest=Max("raw_events__received_at"),
        last_hour=Count("raw_events", filter=Q(raw_events__received_at__gte=hour_ago)),
        failed_hour=Count("raw_events", filter=Q(raw_events__received_at__gte=hour_ago, raw_events__status=RawEvent.Status.FAILED)),
        backlog=Count("raw_events", filter=Q(raw_events__status=RawEvent.Status.PENDING)),
        failed=Count("raw_events", filter=Q(raw_events__status=RawEvent.Status.FAILED)),
        unhandled=Count("raw_events", filter=Q(raw_events__status=RawEvent.Status.UNHANDLED)),
    )
    return [
        ConnectorStatus(
            connector=c, last_event_at=c.latest, events_last_hour=c.last_hour, failed_last_hour=c.failed_hour,
            backlog=c.backlog, failed_total=c.failed, unhandled_total=c.unhandled,
        )
        for c in connectors
    ]


def connector_status(connector: Connector) -> ConnectorStatus:
    return next(s for s in connector_statuses() if s.connector.pk == connector.pk)


def dead_letters(connector: Connector, status: str = RawEvent.Status.FAILED) -> QuerySet[RawEvent]:
    return (
        connector.raw_events.filter(status=status)
        .defer("body")
        .order_by("-received_at", "-id")
    )


def outbound_messages(connector: Connector) -> QuerySet[OutboundMessage]:
    return connector.outbound.order_by("-created_at", "-id")
