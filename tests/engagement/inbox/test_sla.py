"""SLA arithmetic: business hours, weekends, holidays, overnight shifts, time zones, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engagement.inbox.sla import BusinessCalendar, add_business_minutes, business_minutes_between

SH = ZoneInfo("Asia/Shanghai")
WEEKDAYS_9_TO_18 = {str(day): [["09:00", "18:00"]] for day in range(5)}


def calendar(hours=WEEKDAYS_9_TO_18, holidays=(), tz="Asia/Shanghai") -> BusinessCalendar:  # noqa: ANN001
    return BusinessCalendar.from_policy(timezone=tz, business_hours=hours, holidays=holidays)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_inside_business_hours_adds_plain_minutes():
    # given Monday 10:00 / when 60 business minutes are added / then 11:00
    assert add_business_minutes(calendar(), sh(2026, 11, 23, 10, 0), 60) == sh(2026, 11, 23, 11, 0)


def test_time_left_at_closing_carries_to_the_next_morning():
    # Monday 17:30 + 60 min → 30 min on Monday, 30 on Tuesday from 09:00
    assert add_business_minutes(calendar(), sh(2026, 11, 23, 17, 30), 60) == sh(2026, 11, 24, 9, 30)


def test_friday_evening_rolls_over_the_weekend():
    assert add_business_minutes(calendar(), sh(2026, 11, 27, 17, 0), 120) == sh(2026, 11, 30, 10, 0)


def test_a_message_at_night_starts_the_clock_at_opening():
    assert add_business_minutes(calendar(), sh(2026, 11, 24, 3, 0), 15) == sh(2026, 11, 24, 9, 15)


def test_holidays_are_skipped_whole():
    # National Day week 2026: Thursday 1 Oct … Wednesday 7 Oct, weekdays among them are closed
    holidays = [f"2026-10-0{day}" for day in range(1, 8)]
    due = add_business_minutes(calendar(holidays=holidays), sh(2026, 9, 30, 17, 0), 120)
    assert due == sh(2026, 10, 8, 10, 0)


def test_minutes_between_counts_only_open_time():
    cal = calendar(holidays=["2026-11-25"])
    # Monday 17:00 → Thursday 10:00: 60 (Mon) + 540 (Tue) + 0 (Wed holiday) + 60 (Thu)
    assert business_minutes_between(cal, sh(2026, 11, 23, 17, 0), sh(2026, 11, 26, 10, 0)) == 660


def test_minutes_between_is_zero_backwards_and_on_closed_days():
    cal = calendar()
    assert business_minutes_between(cal, sh(2026, 11, 24, 12, 0), sh(2026, 11, 24, 11, 0)) == 0
    assert business_minutes_between(cal, sh(2026, 11, 28, 8, 0), sh(2026, 11, 29, 20, 0)) == 0


def test_add_and_between_agree():
    cal = calendar(holidays=["2026-12-25"])
    start = sh(2026, 12, 23, 16, 47)
    for minutes in (0, 1, 13, 73, 540, 541, 2000, 5000):
        due = add_business_minutes(cal, start, minutes)
        assert business_minutes_between(cal, start, due) == pytest.approx(minutes)


def test_overnight_shift_crosses_midnight():
    night = {str(day): [["22:00", "06:00"]] for day in range(7)}
    cal = calendar(hours=night)
    assert add_business_minutes(cal, sh(2026, 11, 23, 23, 0), 120) == sh(2026, 11, 24, 1, 0)
    # 05:30 is inside the shift that began the evening before
    assert add_business_minutes(cal, sh(2026, 11, 24, 5, 30), 60) == sh(2026, 11, 24, 22, 30)


def test_overnight_shift_stops_at_a_holiday_midnight():
    night = {str(day): [["22:00", "06:00"]] for day in range(7)}
    cal = calendar(hours=night, holidays=["2026-11-24"])
    # Monday 22:00 → midnight counts (120 min); Tuesday is a holiday; Wednesday 22:00 resumes
    assert add_business_minutes(cal, sh(2026, 11, 23, 22, 0), 180) == sh(2026, 11, 25, 23, 0)


def test_split_shifts_with_a_lunch_break():
    split = {str(day): [["09:00", "12:00"], ["13:00", "18:00"]] for day in range(5)}
    assert add_business_minutes(calendar(hours=split), sh(2026, 11, 23, 11, 30), 60) == sh(2026, 11, 23, 13, 30)


def test_round_the_clock_is_plain_time_except_holidays():
    cal = calendar(hours={}, holidays=["2026-11-24"])
    assert add_business_minutes(cal, sh(2026, 11, 23, 23, 0), 30) == sh(2026, 11, 23, 23, 30)
    assert add_business_minutes(cal, sh(2026, 11, 23, 23, 0), 90) == sh(2026, 11, 25, 0, 30)


def test_utc_input_is_read_in_the_policy_time_zone():
    # 01:00 UTC Monday is 09:00 in Shanghai
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert add_business_minutes(calendar(), start, 30) == sh(2026, 11, 23, 9, 30)


def test_daylight_saving_change_keeps_wall_clock_hours():
    # New York springs forward on Sunday 8 March 2026; Monday 09:00 is still opening
    cal = calendar(tz="America/New_York")
    ny = ZoneInfo("America/New_York")
    due = add_business_minutes(cal, datetime(2026, 3, 6, 17, 0, tzinfo=ny), 120)
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=ny)
    assert due - datetime(2026, 3, 6, 17, 0, tzinfo=ny) == timedelta(days=2, hours=16)


def test_a_calendar_that_never_opens_fails_loudly():
    every_day = [(date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(1200)]
    with pytest.raises(ValueError):
        add_business_minutes(calendar(hours={}, holidays=every_day), sh(2026, 1, 1, 0, 0), 10)
