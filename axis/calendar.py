"""Office hours (Art. 11.2) and working days (Art. 16) of Vietnamese state offices.

Art. 11.2: the time of receipt is when a document enters the recipient's system, but a
document received outside office hours counts from the start of the next office-hours
period. Art. 16: inspections are announced 7 working days ahead and their results are due
within 5 working days. Both need the same calendar: seasonal office sessions, a weekly
rest, national holidays and the make-up Saturdays the Government trades for bridge days.
None of that can be computed reliably (lunar dates, yearly decisions), so it is read from
an operator-maintained TOML file (`axis/_data/config/calendar.toml`) and validated strictly at load
time: a wrong calendar would silently move every deadline.

Layers, one way only: `axis.clock` (instants, the +07:00 zone) ← this module (the
calendar's types and arithmetic) ← `axis.calendar_file` (reading the TOML file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from axis.clock import VN_TZ, as_vietnam
from axis.errors import CONFIG_INVALID

# Every day-by-day search stops after this many days. A valid calendar always has a
# working day within a few weeks (the longest break, Tết, is 9-10 days); the cap turns a
# pathological file (a whole year listed as holidays) into an error instead of a hang.
SEARCH_LIMIT_DAYS: Final = 400

MonthDay = tuple[int, int]

# A leap year, so that 29 February must be covered by a schedule too.
COVERAGE_YEAR: Final = 2024


@dataclass(frozen=True, slots=True)
class Session:
    """One office-hours period of a day: `start` inclusive, `end` exclusive (local time)."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Schedule:
    """The sessions that apply from month-day `first` to `last`, both inclusive.

    `last` before `first` means the range wraps over the new year (a winter schedule).
    """

    name: str
    first: MonthDay
    last: MonthDay
    sessions: tuple[Session, ...]

    def applies_to(self, d: date) -> bool:
        md = (d.month, d.day)
        if self.first <= self.last:
            return self.first <= md <= self.last
        return md >= self.first or md <= self.last


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Office sessions, weekly rest, holidays and make-up days; validated on creation.

    `weekend` holds `date.weekday()` numbers (Monday = 0). `fixed_holidays` recur every
    year; `holidays` and `extra_working_days` are explicit dates; `years` are the years
    whose explicit lists were given (see `covers`).
    """

    schedules: tuple[Schedule, ...]
    weekend: frozenset[int] = frozenset({5, 6})
    fixed_holidays: frozenset[MonthDay] = frozenset()
    holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        _validate(self)

    # --- days -------------------------------------------------------------------------

    def covers(self, year: int) -> bool:
        """Whether the file lists `year`'s own holidays (Tết etc.), not only fixed ones.

        A health check should warn when the current or next year is not covered.
        """
        return year in self.years

    def is_holiday(self, d: date) -> bool:
        d = _day(d)
        return d in self.holidays or (d.month, d.day) in self.fixed_holidays

    def is_working_day(self, d: date) -> bool:
        """Not a holiday, and not a weekend day unless it is a make-up working day.

        A datetime is taken as the Vietnam date of that instant.
        """
        d = _day(d)
        if d in self.extra_working_days:
            return True  # validated never to be a holiday
        return not self.is_holiday(d) and d.weekday() not in self.weekend

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        return self._step(_day(d), 1)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before `d`."""
        return self._step(_day(d), -1)

    def add_working_days(self, d: date, n: int) -> date:
        """The date `n` working days after `d` (before it when `n` is negative).

        `d` itself is never counted: with n = 5 and `d` the day an inspection ends, the
        result is the fifth working day after it, the last day for its results (Art. 16).
        With n = -7 and `d` the inspection day, the result is the latest day the
        inspection can be announced (7 working days ahead, Art. 16). n = 0 returns `d` if
        it is a working day, else the next working day: "today, or the first day the
        office is open".
        """
        d = _day(d)
        if n == 0:
            return d if self.is_working_day(d) else self._step(d, 1)
        direction = 1 if n > 0 else -1
        for _ in range(abs(n)):
            d = self._step(d, direction)
        return d

    def _step(self, start: date, direction: int) -> date:
        d = start
        for _ in range(SEARCH_LIMIT_DAYS):
            d += timedelta(days=direction)
            if self.is_working_day(d):
                return d
        raise CONFIG_INVALID.error(
            f"calendar: no working day within {SEARCH_LIMIT_DAYS} days of {start.isoformat()}"
        )

    # --- office hours (Art. 11.2) ---------------------------------------------------------

    def schedule_for(self, d: date) -> Schedule:
        d = _day(d)
        for schedule in self.schedules:
            if schedule.applies_to(d):
                return schedule
        raise AssertionError(f"no schedule for {d}")  # coverage is checked on creation

    def sessions_on(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """The office sessions of `d` as aware +07:00 (start, end); empty on a day off."""
        d = _day(d)
        if not self.is_working_day(d):
            return ()
        return tuple(
            (datetime.combine(d, s.start, VN_TZ), datetime.combine(d, s.end, VN_TZ))
            for s in self.schedule_for(d).sessions
        )

    def is_within_office_hours(self, instant: datetime) -> bool:
        """Whether `instant` falls in a session (end exclusive). Naive = Vietnam time."""
        t = as_vietnam(instant)
        return any(start <= t < end for start, end in self.sessions_on(t.date()))

    def effective_receipt_time(self, instant: datetime) -> datetime:
        """When a document that entered the system at `instant` counts as received.

        Art. 11.2: inside office hours, the instant itself (in +07:00); outside them, the
        start of the next session: the afternoon start during the lunch break, the next
        working day's first session in the evening, over a weekend or a holiday. A naive
        instant is taken as Vietnam local time. The result is always within office hours,
        so applying the function twice changes nothing.
        """
        t = as_vietnam(instant)
        day = t.date()
        for _ in range(SEARCH_LIMIT_DAYS):
            for start, end in self.sessions_on(day):
                if t < end:
                    # On later days t is before every session, so this is the start.
                    return max(t, start)
            day += timedelta(days=1)
        raise CONFIG_INVALID.error(
            f"calendar: no office hours within {SEARCH_LIMIT_DAYS} days of {t.date()}"
        )


def _day(d: date) -> date:
    # `datetime` is a subclass of `date`: without this a datetime would never match the
    # holiday set (datetime != date) and arithmetic would return datetimes.
    if isinstance(d, datetime):
        return as_vietnam(d).date()
    return d


# --- validation ---------------------------------------------------------------------------


def _validate(cal: WorkCalendar) -> None:
    if not cal.schedules:
        raise CONFIG_INVALID.error("calendar: no office-hours schedule")
    names = [s.name for s in cal.schedules]
    if len(set(names)) != len(names):
        raise CONFIG_INVALID.error(f"calendar: duplicate schedule names in {names}")
    for schedule in cal.schedules:
        _validate_sessions(schedule)
    # Each day of the year must have exactly one schedule, or office hours are ambiguous.
    day = date(COVERAGE_YEAR, 1, 1)
    while day.year == COVERAGE_YEAR:
        matching = [s.name for s in cal.schedules if s.applies_to(day)]
        if len(matching) != 1:
            what = "no schedule" if not matching else f"several schedules {matching}"
            raise CONFIG_INVALID.error(
                f"calendar: {day.month:02d}-{day.day:02d} is covered by {what}"
            )
        day += timedelta(days=1)
    if not cal.weekend <= set(range(7)):
        raise CONFIG_INVALID.error(f"calendar: bad weekday numbers {sorted(cal.weekend)}")
    if len(cal.weekend) == 7:
        raise CONFIG_INVALID.error("calendar: every weekday is a rest day, no working day")
    for extra in sorted(cal.extra_working_days):
        if cal.is_holiday(extra):
            raise CONFIG_INVALID.error(
                f"calendar: {extra.isoformat()} is both a holiday and an extra working day"
            )
        if extra.weekday() not in cal.weekend:
            # A make-up day on a weekday changes nothing: most likely a typo in the date.
            raise CONFIG_INVALID.error(
                f"calendar: extra working day {extra.isoformat()} is not a weekend day"
            )


def _validate_sessions(schedule: Schedule) -> None:
    where = f"calendar: schedule {schedule.name!r}"
    if not schedule.sessions:
        raise CONFIG_INVALID.error(f"{where} has no session")
    previous: Session | None = None
    for session in schedule.sessions:
        if session.start >= session.end:
            span = f"{_hm(session.start)}-{_hm(session.end)}"
            raise CONFIG_INVALID.error(f"{where}: session {span} does not end after it starts")
        if previous is not None and session.start < previous.end:
            raise CONFIG_INVALID.error(
                f"{where}: sessions {_hm(previous.start)}-{_hm(previous.end)} and "
                f"{_hm(session.start)}-{_hm(session.end)} overlap or are out of order"
            )
        previous = session


def _hm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"

