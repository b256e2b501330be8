"""SLA arithmetic across business hours and holidays: pure functions, no database.

Business time is counted in the policy's time zone: only minutes inside the weekly
opening intervals count, and whole holiday dates count nothing. Intervals may cross
midnight ("22:00"–"02:00" belongs to the day it starts on). A calendar with no intervals
at all is open round the clock (holidays still close).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# Safety bound: a calendar with no open minute at all (every day a holiday) must not loop.
MAX_DAYS_AHEAD = 3 * 366


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    # weekday (Monday = 0) → sorted (start, end) pairs; end <= start means "past midnight".
    weekly: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def round_the_clock(self) -> bool:
        return not any(self.weekly.values())

    @classmethod
    def from_policy(cls, *, timezone: str, business_hours: Mapping[str, Any], holidays: Iterable[str]) -> BusinessCalendar:
        weekly: dict[int, list[tuple[time, time]]] = {}
        for day, intervals in (business_hours or {}).items():
            weekly[int(day)] = sorted((time.fromisoformat(start), time.fromisoformat(end)) for start, end in intervals)
        return cls(
            tz=ZoneInfo(timezone or "UTC"), weekly=weekly,
            holidays=frozenset(date.fromisoformat(str(d)) for d in holidays or ()),
        )


def open_intervals(calendar: BusinessCalendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The calendar's open intervals clipped to [start, end), in order (aware datetimes)."""
    if end <= start:
        return []
    local_start = start.astimezone(calendar.tz)
    result: list[tuple[datetime, datetime]] = []
    day = local_start.date() - timedelta(days=1)  # an interval from yesterday may run past midnight
    last_day = end.astimezone(calendar.tz).date()
    while day <= last_day:
        for opens, closes in _day_intervals(calendar, day):
            lo, hi = max(opens, start), min(closes, end)
            if lo < hi:
                result.append((lo, hi))
        day += timedelta(days=1)
    return _merged(result)


def business_minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Open minutes from `start` to `end` (0 when end is not after start)."""
    return sum((hi - lo).total_seconds() for lo, hi in open_intervals(calendar, start, end)) / 60


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: float) -> datetime:
    """The moment `minutes` of open time after `start`. Starting outside business hours
    counts from the next opening. Zero minutes returns the next open moment."""
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(calendar.tz).date() - timedelta(days=1)
    for _ in range(MAX_DAYS_AHEAD):
        for opens, closes in _day_intervals(calendar, day):
            lo = max(opens, start)
            if lo >= closes:
                continue
            if lo + remaining <= closes:
                return lo + remaining
            remaining -= closes - lo
        day += timedelta(days=1)
    raise ValueError("the calendar has no open time within three years")


def _day_intervals(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """Open intervals that start on local `day`, as aware datetimes (DST-safe)."""
    if day in calendar.holidays:
        return []
    if calendar.round_the_clock:
        return [(_at(calendar, day, time.min), _at(calendar, day + timedelta(days=1), time.min))]
    intervals = []
    for opens, closes in calendar.weekly.get(day.weekday(), ()):
        close_day = day if closes > opens else day + timedelta(days=1)
        if close_day != day and close_day in calendar.holidays:
            closes, close_day = time.min, close_day  # the holiday starts at midnight
        intervals.append((_at(calendar, day, opens), _at(calendar, close_day, closes)))
    return intervals


def _at(calendar: BusinessCalendar, day: date, clock: time) -> datetime:
    # Through UTC and back so a wall time inside a DST gap or fold still orders correctly.
    naive = datetime.combine(day, clock)
    return naive.replace(tzinfo=calendar.tz).astimezone(ZoneInfo("UTC"))


def _merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    intervals.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in intervals:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged
