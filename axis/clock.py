"""Vietnam time: the node's clock and wire formats.

Vietnam is UTC+07:00 all year (no daylight saving). Everything of the node's own is
ISO 8601 with the +07:00 offset (Art. 11.3); edXML carries local times without an
offset, converted here at the edge.

The bottom layer of time: the calendar of office hours and working days (`axis.calendar`,
read from its file by `axis.calendar_file`) builds on this module, never the reverse.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

VN_TZ = timezone(timedelta(hours=7), "ICT")


class Clock(Protocol):
    """Injected wherever the node needs the current instant."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(VN_TZ)


class FixedClock:
    """A clock for tests and replays: returns a set instant, moved on by hand."""

    def __init__(self, instant: datetime) -> None:
        self._instant = as_vietnam(instant)

    def now(self) -> datetime:
        return self._instant

    def advance(self, delta: timedelta) -> None:
        self._instant += delta


def as_vietnam(instant: datetime) -> datetime:
    """An aware instant in +07:00; a naive one is taken as Vietnam local time.

    Raises ValueError (like every other unreadable date) when the instant has no +07:00
    form: 9999-12-31T23:00-05:00 is in year 10000 in Vietnam, 0001-01-01T00:00+14:00 in
    year 0, and `datetime` holds neither (it raises OverflowError, which no caller that
    parses input expects)."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=VN_TZ)
    try:
        return instant.astimezone(VN_TZ)
    except OverflowError as exc:
        raise ValueError(f"{instant.isoformat()} is out of range in Vietnam time") from exc


def iso(instant: datetime) -> str:
    """ISO 8601 with the +07:00 offset, to the second."""
    return as_vietnam(instant).isoformat(timespec="seconds")


# re.ASCII: `\d` must not match other scripts' digits (a "２０２０" year is not a date).
_DATE_YMD = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})", re.ASCII)
_DATE_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)


def parse_wire_date(text: str) -> date:
    """`yyyy/MM/dd` (also `yyyy-MM-dd`), or the tolerated `dd/MM/yyyy`.

    Raises ValueError for an impossible or unreadable date.
    """
    s = text.strip()
    m = _DATE_YMD.fullmatch(s)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = _DATE_DMY.fullmatch(s)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(f"not a date: {text!r}")


def parse_wire_timestamp(text: str) -> datetime:
    """`yyyy/MM/dd HH:mm:ss` (seconds optional; `dd/MM/yyyy` tolerated), Vietnam time.

    An ISO 8601 value with an offset is also accepted and converted to +07:00.
    """
    s = text.strip()
    if "T" in s:
        try:
            return as_vietnam(datetime.fromisoformat(s))
        except ValueError:
            pass
    day_part, _, time_part = s.partition(" ")
    d = parse_wire_date(day_part)
    if not time_part.strip():
        return datetime(d.year, d.month, d.day, tzinfo=VN_TZ)
    m = _TIME.fullmatch(time_part.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text!r}")
    return datetime(
        d.year, d.month, d.day, int(m[1]), int(m[2]), int(m[3] or 0), tzinfo=VN_TZ
    )


def format_wire_date(d: date) -> str:
    return f"{d.year:04d}/{d.month:02d}/{d.day:02d}"


def format_wire_timestamp(instant: datetime) -> str:
    t = as_vietnam(instant)
    return f"{format_wire_date(t.date())} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"

