"""Inbox reports: volume by channel, first-response and resolution times (median, p90) and
SLA attainment by agent and team. Percentiles are computed in PostgreSQL
(percentile_cont), so a report reads aggregates, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate

from engagement.inbox.models import Message, Resolution, Team


@dataclass(frozen=True)
class TimeStats:
    key: object
    label: str
    count: int
    median: float | None  # seconds
    p90: float | None
    attainment: float | None  # 0 … 1


def volume_by_channel(since: datetime) -> list[tuple[str, int]]:
    rows = (
        Message.objects.filter(direction=Message.Direction.IN, created_at__gte=since)
        .values_list("conversation__channel").annotate(n=Count("id")).order_by("-n")
    )
    return [(channel, n) for channel, n in rows]


def daily_volume(since: datetime, until: datetime) -> list[tuple[str, int]]:
    counts = dict(
        Message.objects.filter(direction=Message.Direction.IN, created_at__gte=since)
        .annotate(day=TruncDate("created_at")).values_list("day").annotate(n=Count("id"))
    )
    days, day = [], since.date()
    while day <= until.date():
        days.append((day.strftime("%m-%d"), counts.get(day, 0)))
        day += timedelta(days=1)
    return days


_STATS_SQL = """
SELECT GROUPING({key}) = 1 AS is_total, {key} AS key, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY {value}), avg(CASE WHEN {met} THEN 1.0 ELSE 0.0 END)
FROM {table} WHERE {where} AND {time} >= %s
GROUP BY ROLLUP ({key}) ORDER BY count(*) DESC
"""


def _stats(*, table: str, key: str, value: str, met: str, time: str, where: str, since: datetime) -> dict[object, tuple]:
    sql = _STATS_SQL.format(table=connection.ops.quote_name(table), key=key, value=value, met=met, time=time, where=where)
    with connection.cursor() as cursor:
        cursor.execute(sql, [since])
        rows = cursor.fetchall()
    # ROLLUP adds the grand total; GROUPING() tells it from a real "no team" group.
    return {"__total__" if row[0] else row[1]: row[2:] for row in rows}


def _labelled(stats: dict[object, tuple], labels: dict[object, str], none_label: str) -> list[TimeStats]:
    out = []
    for key, (count, median, p90, attainment) in stats.items():
        if key == "__total__":
            continue
        out.append(TimeStats(key=key, label=labels.get(key, none_label), count=count, median=median, p90=p90,
                             attainment=float(attainment) if attainment is not None else None))
    return out


def _total(stats: dict[object, tuple]) -> TimeStats | None:
    if "__total__" not in stats:
        return None
    count, median, p90, attainment = stats["__total__"]
    return TimeStats(key=None, label="", count=count, median=median, p90=p90,
                     attainment=float(attainment) if attainment is not None else None)


@dataclass(frozen=True)
class Report:
    first_response_total: TimeStats | None
    first_response_by_agent: list[TimeStats]
    first_response_by_team: list[TimeStats]
    resolution_total: TimeStats | None
    resolution_by_agent: list[TimeStats]
    resolution_by_team: list[TimeStats]


def inbox_report(since: datetime, *, none_label: str) -> Report:
    users = dict(User.objects.values_list("id", "username"))
    teams = dict(Team.objects.values_list("id", "name"))
    replies = {"table": Message._meta.db_table, "value": "response_seconds", "met": "sla_met", "time": "created_at",
               "where": "direction = 'out' AND response_seconds IS NOT NULL", "since": since}
    resolved = {"table": Resolution._meta.db_table, "value": "seconds", "met": "sla_met", "time": "resolved_at",
                "where": "true", "since": since}
    fr_agent = _stats(key="author_id", **replies)
    fr_team = _stats(key="team_id", **replies)
    res_agent = _stats(key="assignee_id", **resolved)
    res_team = _stats(key="team_id", **resolved)
    return Report(
        first_response_total=_total(fr_agent),
        first_response_by_agent=_labelled(fr_agent, users, none_label),
        first_response_by_team=_labelled(fr_team, teams, none_label),
        resolution_total=_total(res_agent),
        resolution_by_agent=_labelled(res_agent, users, none_label),
        resolution_by_team=_labelled(res_team, teams, none_label),
    )
