"""Vietnam time: wire formats, office hours (Art. 11.2) and working days (Art. 16).

Fixed instants only: nothing here reads the system clock. The office-hours and holiday
cases run against the shipped `axis/_data/config/calendar.toml`, so they also check its dates; when
the operator changes that file on purpose, the affected expectations change with it.
Shipped office hours: winter (15 Oct - 14 Apr) 07:30-11:30, 13:00-16:30; summer
(15 Apr - 14 Oct) 07:00-11:30, 13:30-17:00.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axis.calendar import SEARCH_LIMIT_DAYS, Schedule, Session, WorkCalendar
from axis.calendar_file import load_calendar
from axis.clock import (
    VN_TZ,
    FixedClock,
    as_vietnam,
    format_wire_date,
    format_wire_timestamp,
    iso,
    parse_wire_date,
    parse_wire_timestamp,
)
from axis.errors import AxisError
from axis.packaged import DEFAULT_CALENDAR_FILE

CONFIG = DEFAULT_CALENDAR_FILE


@functools.cache
def shipped() -> WorkCalendar:
    return load_calendar(CONFIG)


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=VN_TZ)


# --- wire formats ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014/02/28", date(2014, 2, 28)),
        ("2014-02-28", date(2014, 2, 28)),
        ("2014/2/3", date(2014, 2, 3)),
        ("28/02/2014", date(2014, 2, 28)),
        (" 2016/02/29 ", date(2016, 2, 29)),
    ],
)
def test_parse_wire_date(text: str, expected: date) -> None:
    assert parse_wire_date(text) == expected


@pytest.mark.parametrize(
    "text", ["2014/02/30", "30/02/2014", "2015/02/29", "2014/13/01", "2014.02.28", "", "soon"]
)
def test_parse_wire_date_refuses_impossible_or_unreadable(text: str) -> None:
    with pytest.raises(ValueError):
        parse_wire_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014/02/28 09:05:07", vn(2014, 2, 28, 9, 5, 7)),
        ("2014/02/28 09:05", vn(2014, 2, 28, 9, 5)),
        ("2014/02/28", vn(2014, 2, 28)),
        ("28/02/2014 23:59:59", vn(2014, 2, 28, 23, 59, 59)),
        # ISO with an offset is converted to Vietnam time: 02:05Z is 09:05+07:00.
        ("2014-02-28T02:05:07+00:00", vn(2014, 2, 28, 9, 5, 7)),
    ],
)
def test_parse_wire_timestamp(text: str, expected: datetime) -> None:
    parsed = parse_wire_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=7)
    assert parsed.hour == expected.hour  # the wall time too, not only the same instant


@pytest.mark.parametrize(
    "text", ["2014/02/30 10:00:00", "2014/02/28 25:00:00", "2014/02/28 10:61", "2014/02/28 9h"]
)
def test_parse_wire_timestamp_refuses_bad_values(text: str) -> None:
    with pytest.raises(ValueError):
        parse_wire_timestamp(text)


def test_format_wire_values_in_vietnam_time() -> None:
    assert format_wire_date(date(2014, 2, 3)) == "2014/02/03"
    # 20:30Z on 28 Feb is 03:30 on 1 March in Vietnam: the date moves too.
    assert format_wire_timestamp(datetime(2014, 2, 28, 20, 30, tzinfo=UTC)) == (
        "2014/03/01 03:30:00"
    )
    t = vn(2026, 3, 3, 9, 5, 7)
    assert parse_wire_timestamp(format_wire_timestamp(t)) == t


def test_iso_output_carries_the_vietnam_offset() -> None:
    assert iso(datetime(2026, 3, 3, 2, 0, tzinfo=UTC)) == "2026-03-03T09:00:00+07:00"
    assert iso(datetime(2026, 3, 3, 9, 0, 0, 999_999)) == "2026-03-03T09:00:00+07:00"
    assert as_vietnam(datetime(2026, 3, 3, 9, 0)).utcoffset() == timedelta(hours=7)


def test_fixed_clock_is_moved_by_hand_only() -> None:
    clock = FixedClock(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    assert clock.now() == vn(2026, 3, 3, 9, 0)
    clock.advance(timedelta(hours=3))
    assert clock.now() == vn(2026, 3, 3, 12, 0)


# --- the shipped calendar -------------------------------------------------------------


def test_shipped_calendar_loads_and_covers_its_years() -> None:
    cal = shipped()
    assert [s.name for s in cal.schedules] == ["summer", "winter"]
    assert all(cal.covers(y) for y in (2025, 2026, 2027))
    assert not cal.covers(2028)
    assert cal.weekend == frozenset({5, 6})


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 1, 1),  # New Year
        date(2025, 1, 27),  # Tết 2025, first statutory day
        date(2025, 1, 29),  # Tết 2025, Lunar New Year's Day
        date(2025, 4, 7),  # Hùng Kings 2025
        date(2025, 5, 2),  # bridge day, paid back on Sat 26 April
        date(2025, 9, 1),  # National Day, second day
        date(2026, 1, 2),  # bridge day, paid back on Sat 10 January
        date(2026, 2, 17),  # Tết 2026
        date(2026, 4, 27),  # Hùng Kings 2026 fell on a Sunday: compensatory Monday
        date(2026, 9, 2),  # National Day
        date(2027, 1, 1),  # New Year
        date(2027, 2, 9),  # Tết 2027, compensatory day
        date(2027, 4, 16),  # Hùng Kings 2027
        date(2027, 5, 3),  # 1 May 2027 fell on a Saturday: compensatory Monday
        date(2030, 9, 2),  # fixed holidays recur in years the file does not list
    ],
)
def test_holidays_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5  # a weekday: only the holiday list makes it a day off
    assert shipped().is_holiday(day)
    assert not shipped().is_working_day(day)
    assert shipped().sessions_on(day) == ()


def test_weekends_and_make_up_saturdays() -> None:
    cal = shipped()
    assert cal.is_working_day(date(2026, 3, 3))
    assert not cal.is_working_day(date(2026, 3, 7))  # Saturday
    assert not cal.is_working_day(date(2026, 3, 8))  # Sunday
    for saturday in (date(2025, 4, 26), date(2026, 1, 10), date(2026, 8, 22)):
        assert saturday.weekday() == 5
        assert cal.is_working_day(saturday)


def test_sessions_on_a_working_day_are_aware_and_seasonal() -> None:
    cal = shipped()
    assert cal.sessions_on(date(2026, 3, 3)) == (
        (vn(2026, 3, 3, 7, 30), vn(2026, 3, 3, 11, 30)),
        (vn(2026, 3, 3, 13, 0), vn(2026, 3, 3, 16, 30)),
    )
    assert cal.sessions_on(date(2026, 6, 2)) == (
        (vn(2026, 6, 2, 7, 0), vn(2026, 6, 2, 11, 30)),
        (vn(2026, 6, 2, 13, 30), vn(2026, 6, 2, 17, 0)),
    )
    assert cal.sessions_on(date(2026, 3, 7)) == ()
    # A make-up Saturday has the normal (summer) sessions.
    assert cal.sessions_on(date(2026, 8, 22))[0] == (vn(2026, 8, 22, 7, 0), vn(2026, 8, 22, 11, 30))


# --- effective time of receipt (Art. 11.2) --------------------------------------------


@pytest.mark.parametrize(
    ("received", "effective"),
    [
        # Inside the morning session: the instant itself.
        (vn(2026, 3, 3, 9, 15, 42), vn(2026, 3, 3, 9, 15, 42)),
        (vn(2026, 3, 3, 7, 30), vn(2026, 3, 3, 7, 30)),  # start is inclusive
        (vn(2026, 3, 3, 11, 29, 59), vn(2026, 3, 3, 11, 29, 59)),
        # End is exclusive: at 11:30 sharp the lunch break has begun.
        (vn(2026, 3, 3, 11, 30), vn(2026, 3, 3, 13, 0)),
        (vn(2026, 3, 3, 12, 0), vn(2026, 3, 3, 13, 0)),  # lunch break, winter
        (vn(2026, 6, 2, 13, 15), vn(2026, 6, 2, 13, 30)),  # lunch break, summer
        (vn(2026, 3, 4, 6, 0), vn(2026, 3, 4, 7, 30)),  # before opening
        (vn(2026, 3, 3, 18, 0), vn(2026, 3, 4, 7, 30)),  # evening: next morning
        (vn(2026, 3, 3, 23, 59, 59), vn(2026, 3, 4, 7, 30)),
        (vn(2026, 3, 6, 17, 0), vn(2026, 3, 9, 7, 30)),  # Friday evening: Monday
        (vn(2026, 3, 7, 10, 0), vn(2026, 3, 9, 7, 30)),  # Saturday: Monday
        (vn(2026, 9, 2, 10, 0), vn(2026, 9, 3, 7, 0)),  # National Day: next day
        # Tết 2026: the break runs Sat 14 - Sun 22 Feb.
        (vn(2026, 2, 13, 16, 45), vn(2026, 2, 23, 7, 30)),
        (vn(2026, 2, 18, 10, 0), vn(2026, 2, 23, 7, 30)),
        # Season change on 15 April: 07:10 is before the winter opening on the 14th but
        # inside the summer morning session on the 15th.
        (vn(2026, 4, 14, 7, 10), vn(2026, 4, 14, 7, 30)),
        (vn(2026, 4, 15, 7, 10), vn(2026, 4, 15, 7, 10)),
        (vn(2026, 4, 14, 16, 45), vn(2026, 4, 15, 7, 0)),  # winter evening -> summer
        # ...and back on 15 October: 16:45 is open in summer, closed in winter.
        (vn(2026, 10, 14, 16, 45), vn(2026, 10, 14, 16, 45)),
        (vn(2026, 10, 15, 16, 45), vn(2026, 10, 16, 7, 30)),
        # Year end: Thu 31 Dec 2026 evening; Fri 1 Jan 2027 is New Year, then a weekend.
        (vn(2026, 12, 31, 17, 0), vn(2027, 1, 4, 7, 30)),
        # Make-up Saturday: Friday evening is received on the Saturday morning.
        (vn(2026, 8, 21, 18, 0), vn(2026, 8, 22, 7, 0)),
    ],
)
def test_effective_receipt_time(received: datetime, effective: datetime) -> None:
    result = shipped().effective_receipt_time(received)
    assert result == effective
    assert result.utcoffset() == timedelta(hours=7)
    assert result.timetz() == effective.timetz()


def test_year_end_case_really_spans_a_friday_holiday() -> None:
    assert date(2027, 1, 1).weekday() == 4  # Friday
    assert date(2027, 1, 4).weekday() == 0  # Monday


def test_receipt_time_of_an_instant_in_utc() -> None:
    cal = shipped()
    # 02:00Z is 09:00 in Vietnam, inside the morning session: same instant, in +07:00.
    result = cal.effective_receipt_time(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    assert result == vn(2026, 3, 3, 9, 0)
    assert result.utcoffset() == timedelta(hours=7)
    # 05:00Z is 12:00 local: lunch break, received at 13:00 local (06:00Z).
    assert cal.effective_receipt_time(datetime(2026, 3, 3, 5, 0, tzinfo=UTC)) == vn(
        2026, 3, 3, 13, 0
    )
    # Sunday 23:00Z is already Monday 06:00 in Vietnam: the Vietnam date decides.
    assert cal.effective_receipt_time(datetime(2026, 3, 8, 23, 0, tzinfo=UTC)) == vn(
        2026, 3, 9, 7, 30
    )


def test_naive_instants_are_vietnam_local_time() -> None:
    cal = shipped()
    assert cal.effective_receipt_time(datetime(2026, 3, 3, 12, 0)) == vn(2026, 3, 3, 13, 0)
    assert cal.is_within_office_hours(datetime(2026, 3, 3, 9, 0))
    assert not cal.is_within_office_hours(datetime(2026, 3, 3, 12, 0))


@pytest.mark.parametrize(
    ("instant", "open_"),
    [
        (vn(2026, 3, 3, 7, 29, 59), False),
        (vn(2026, 3, 3, 7, 30), True),
        (vn(2026, 3, 3, 16, 29, 59), True),
        (vn(2026, 3, 3, 16, 30), False),
        (vn(2026, 3, 7, 9, 0), False),  # Saturday
        (vn(2026, 8, 22, 9, 0), True),  # make-up Saturday
        (vn(2026, 9, 2, 9, 0), False),  # National Day
        (datetime(2026, 3, 3, 1, 0, tzinfo=UTC), True),  # 08:00 local
    ],
)
def test_is_within_office_hours(instant: datetime, open_: bool) -> None:
    assert shipped().is_within_office_hours(instant) is open_


_ZONES = st.sampled_from([VN_TZ, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1),
        max_value=datetime(2027, 12, 31, 23, 59, 59),
        timezones=_ZONES,
    )
)
def test_receipt_time_is_later_open_and_idempotent(t: datetime) -> None:
    cal = shipped()
    effective = cal.effective_receipt_time(t)
    assert effective >= t
    assert cal.is_within_office_hours(effective)
    assert cal.effective_receipt_time(effective) == effective
    assert effective.utcoffset() == timedelta(hours=7)
    # Nothing is left waiting longer than the longest break (Tết, 9 days plus the evening).
    assert effective - t < timedelta(days=11)


# --- working-day arithmetic (Art. 16) -------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday + 1: Monday
        (date(2026, 3, 2), 5, date(2026, 3, 9)),  # results within 5 working days
        (date(2026, 3, 2), 7, date(2026, 3, 11)),  # 7 working days
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # from a Saturday
        (date(2026, 4, 29), 1, date(2026, 5, 4)),  # over 30 April, 1 May, weekend
        (date(2026, 4, 24), 1, date(2026, 4, 28)),  # over Hùng Kings' compensatory day
        (date(2026, 2, 13), 1, date(2026, 2, 23)),  # over Tết
        (date(2026, 2, 12), 2, date(2026, 2, 23)),
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # over the year end
        (date(2026, 12, 30), 3, date(2027, 1, 5)),
        (date(2025, 12, 31), 1, date(2026, 1, 5)),  # 1 Jan + bridge day 2 Jan 2026
        (date(2026, 8, 21), 1, date(2026, 8, 22)),  # make-up Saturday counts
        (date(2025, 4, 25), 1, date(2025, 4, 26)),
        # n = 0: the day itself if it is a working day, else the next one.
        (date(2026, 3, 3), 0, date(2026, 3, 3)),
        (date(2026, 3, 7), 0, date(2026, 3, 9)),
        (date(2026, 9, 2), 0, date(2026, 9, 3)),
        # Negative n: n working days before.
        (date(2026, 2, 23), -1, date(2026, 2, 13)),
        (date(2027, 1, 4), -1, date(2026, 12, 31)),
        # "Report 3 working days before" a Monday 4 May: back over 1 May, 30 April and
        # Hùng Kings' compensatory Monday 27 April.
        (date(2026, 5, 4), -3, date(2026, 4, 24)),
        # Announce an inspection 7 working days ahead of Mon 7 Sep 2026 (Art. 16).
        (date(2026, 9, 7), -7, date(2026, 8, 24)),
        (date(2026, 9, 7), -8, date(2026, 8, 22)),  # the make-up Saturday counts back too
        (date(2026, 9, 7), -9, date(2026, 8, 21)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert shipped().add_working_days(start, n) == expected


def test_add_working_days_takes_the_vietnam_date_of_a_datetime() -> None:
    # Fri 6 March 20:00Z is Sat 7 March 03:00 in Vietnam.
    result = shipped().add_working_days(datetime(2026, 3, 6, 20, 0, tzinfo=UTC), 1)
    assert result == date(2026, 3, 9)
    assert type(result) is date


def test_next_and_previous_working_day() -> None:
    cal = shipped()
    assert cal.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert cal.previous_working_day(date(2026, 2, 23)) == date(2026, 2, 13)
    assert cal.next_working_day(date(2026, 3, 3)) == date(2026, 3, 4)  # strictly after


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 11, 30)), st.integers(1, 30))
def test_working_days_there_and_back(start: date, n: int) -> None:
    cal = shipped()
    day = cal.add_working_days(start, 0)
    later = cal.add_working_days(day, n)
    assert later > day and cal.is_working_day(later)
    assert cal.add_working_days(later, -n) == day


# --- bad configuration ----------------------------------------------------------------

_GOOD = """
weekend = ["saturday", "sunday"]
fixed_holidays = ["01-01"]

[[schedules]]
name = "all year"
sessions = [{ start = "07:30", end = "11:30" }, { start = "13:00", end = "16:30" }]

[years.2026]
holidays = [2026-02-17]
extra_working_days = [2026-02-21]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path) -> AxisError:
    with pytest.raises(AxisError) as info:
        load_calendar(path)
    assert info.value.code.id == "node.config_invalid"
    assert str(path) in info.value.detail
    return info.value


def test_the_minimal_test_calendar_is_valid(tmp_path: Path) -> None:
    cal = load_calendar(_write(tmp_path, _GOOD))
    assert cal.is_working_day(date(2026, 2, 21))  # make-up Saturday
    assert not cal.is_working_day(date(2026, 2, 17))
    assert cal.schedule_for(date(2024, 2, 29)).name == "all year"


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            '["saturday", "sunday"]',
            '["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]',
            "no working day",
        ),
        ('end = "11:30" }, { start = "13:00"', 'end = "13:30" }, { start = "13:00"', "overlap"),
        ('start = "13:00", end = "16:30"', 'start = "06:00", end = "07:00"', "out of order"),
        ('start = "07:30"', 'start = "7h30"', "7h30"),
        ('start = "07:30"', 'start = "25:00"', "25:00"),
        ('end = "16:30"', 'end = "13:00"', "does not end after"),
        ("sessions = [", "sessions = []\nx = [", "unknown key"),
        ('"saturday", "sunday"]', '"saturday", "sundae"]', "sundae"),
        ('["01-01"]', '["02-30"]', "02-30"),
        ("[2026-02-17]", "[2025-02-17]", "not in 2026"),
        ("[2026-02-17]", "[2026-02-21]", "both a holiday and an extra working day"),
        ("extra_working_days = [2026-02-21]", "extra_working_days = [2026-02-20]", "weekend"),
        ("[years.2026]", "[years.twenty]", "must be a year"),
        ("[2026-02-17]", '["17/02/2026"]', "17/02/2026"),
        ('name = "all year"', 'name = "all year"\nfrom = "04-15"', "both 'from' and 'to'"),
        ("sessions = [{", "sessions = [] # [{", "no session"),
        ("weekend = [", "weekend = = [", "not valid TOML"),
    ],
)
def test_bad_calendar_files_are_refused(tmp_path: Path, old: str, new: str, reason: str) -> None:
    assert old in _GOOD
    error = _refused(_write(tmp_path, _GOOD.replace(old, new, 1)))
    assert reason in error.detail


_SEASONS = """
[[schedules]]
name = "summer"
from = "04-15"
to = "10-14"
sessions = [{{ start = "07:00", end = "11:30" }}]

[[schedules]]
name = "winter"
from = "{winter_from}"
to = "{winter_to}"
sessions = [{{ start = "07:30", end = "11:30" }}]
"""


@pytest.mark.parametrize(
    ("winter_from", "winter_to", "reason"),
    [
        ("10-16", "04-14", "10-15 is covered by no schedule"),  # a gap
        ("10-15", "04-15", "04-15 is covered by several schedules"),  # an overlap
        ("10-15", "02-28", "02-29 is covered by no schedule"),  # leap day forgotten
    ],
)
def test_seasons_must_cover_the_year_exactly_once(
    tmp_path: Path, winter_from: str, winter_to: str, reason: str
) -> None:
    text = _SEASONS.format(winter_from=winter_from, winter_to=winter_to)
    assert reason in _refused(_write(tmp_path, text)).detail


def test_seasons_that_wrap_over_new_year_are_valid(tmp_path: Path) -> None:
    text = _SEASONS.format(winter_from="10-15", winter_to="04-14")
    cal = load_calendar(_write(tmp_path, text))
    assert cal.schedule_for(date(2026, 1, 1)).name == "winter"
    assert cal.schedule_for(date(2026, 4, 15)).name == "summer"
    assert cal.schedule_for(date(2026, 10, 15)).name == "winter"


def test_missing_calendar_file_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "absent.toml")


def test_a_calendar_without_working_days_in_reach_fails_instead_of_looping() -> None:
    # Valid on its face, but every day of 2026-2027 is a holiday: the searches stop at
    # SEARCH_LIMIT_DAYS instead of running on.
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(730))
    cal = WorkCalendar(
        schedules=(Schedule("all year", (1, 1), (12, 31), (Session(time(8), time(17)),)),),
        holidays=every_day,
    )
    assert SEARCH_LIMIT_DAYS < 730
    calls: list[Callable[[], object]] = [
        lambda: cal.effective_receipt_time(vn(2026, 1, 1, 9)),
        lambda: cal.add_working_days(date(2026, 1, 1), 1),
        lambda: cal.add_working_days(date(2027, 12, 31), -1),
    ]
    for call in calls:
        with pytest.raises(AxisError) as info:
            call()
        assert info.value.code.id == "node.config_invalid"


def test_calendar_values_are_validated_when_built_directly() -> None:
    with pytest.raises(AxisError) as info:
        WorkCalendar(schedules=(Schedule("empty", (1, 1), (12, 31), ()),))
    assert info.value.code.id == "node.config_invalid"
    cal = WorkCalendar(
        schedules=(Schedule("all year", (1, 1), (12, 31), (Session(time(8), time(17)),)),)
    )
    with pytest.raises(AttributeError):
        cal.weekend = frozenset()  # type: ignore[misc]
