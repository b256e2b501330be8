"""Listening reads: the dashboard's figures for one monitor or all, and the live feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate

from engagement.inbox import listening
from engagement.inbox.models import Mention, Monitor
from engagement.inbox.routing import NEGATIVE_SENTIMENT

POSITIVE_SENTIMENT = 0.3
FEED_LIMIT = 30
TERMS_SAMPLE = 1000


@dataclass(frozen=True)
class Dashboard:
    daily: list[tuple[str, int]]
    sentiment: list[tuple[str, int]]
    negative_daily: list[tuple[str, int]]
    share_of_voice: list[tuple[str, int]]
    top_terms: list[tuple[str, int]]
    top_authors: list[tuple[str, int, int]]  # author, reach, mentions
    total: int


def mentions(monitor: Monitor | None) -> QuerySet[Mention]:
    rows = Mention.objects.all()
    return rows.filter(monitor=monitor) if monitor else rows


def dashboard(monitor: Monitor | None, *, since: datetime, until: datetime, labels: dict[str, str]) -> Dashboard:
    rows = mentions(monitor).filter(occurred_at__gte=since)
    per_day = {
        day: (n, negative)
        for day, n, negative in rows.annotate(day=TruncDate("occurred_at")).values_list("day")
        .annotate(n=Count("id"), negative=Count("id", filter=Q(sentiment__lte=NEGATIVE_SENTIMENT))).values_list("day", "n", "negative")
    }
    days, day = [], since.date()
    while day <= until.date():
        days.append(day)
        day += timedelta(days=1)
    mood = rows.aggregate(
        positive=Count("id", filter=Q(sentiment__gte=POSITIVE_SENTIMENT)),
        negative=Count("id", filter=Q(sentiment__lte=NEGATIVE_SENTIMENT)),
        total=Count("id"),
    )
    neutral = mood["total"] - mood["positive"] - mood["negative"]
    voice = (
        Mention.objects.filter(occurred_at__gte=since).values_list("monitor__name").annotate(n=Count("id")).order_by("-n")[:8]
    )
    exclude = listening.query_terms(listening.parse(monitor.query)) if monitor else []
    sample = rows.order_by("-occurred_at").values_list("text", flat=True)[:TERMS_SAMPLE]
    authors = (
        rows.exclude(author="").values("author").annotate(reach=Max("reach"), n=Count("id")).order_by("-reach", "-n")[:10]
    )
    return Dashboard(
        daily=[(d.strftime("%m-%d"), per_day.get(d, (0, 0))[0]) for d in days],
        negative_daily=[(d.strftime("%m-%d"), per_day.get(d, (0, 0))[1]) for d in days],
        sentiment=[(labels["positive"], mood["positive"]), (labels["neutral"], neutral), (labels["negative"], mood["negative"])],
        share_of_voice=list(voice),
        top_terms=listening.top_terms(sample, limit=20, exclude=exclude),
        top_authors=[(a["author"], a["reach"], a["n"]) for a in authors],
        total=mood["total"],
    )


def feed(monitor: Monitor | None) -> list[Mention]:
    return list(mentions(monitor).select_related("monitor", "customer").order_by("-occurred_at", "-id")[:FEED_LIMIT])


def feed_fingerprint(monitor: Monitor | None) -> str:
    latest = mentions(monitor).aggregate(latest=Max("id"))["latest"]
    return str(latest or 0)
