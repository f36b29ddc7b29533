"""Reading `axis/_data/config/calendar.toml` into a `WorkCalendar`, strictly: a wrong calendar would
silently move every deadline (Art. 11.2, Art. 16)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Final

from axis.calendar import COVERAGE_YEAR, MonthDay, Schedule, Session, WorkCalendar
from axis.errors import CONFIG_INVALID, AxisError

_WEEKDAYS: Final[Mapping[str, int]] = {
    name: i
    for i, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_HH_MM = re.compile(r"(\d{2}):(\d{2})")

# --- loading ------------------------------------------------------------------------------


def load_calendar(path: Path) -> WorkCalendar:
    """Read and validate a calendar file (format: `axis/_data/config/calendar.toml`).

    Raises `node.config_invalid` naming the file and the first problem found.
    """
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise CONFIG_INVALID.error(f"{path}: cannot read calendar: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CONFIG_INVALID.error(f"{path}: not valid TOML: {exc}") from exc
    try:
        return _from_toml(raw)
    except _Invalid as exc:
        raise CONFIG_INVALID.error(f"{path}: {exc}") from exc
    except AxisError as exc:  # from WorkCalendar's own validation: add the file name
        raise CONFIG_INVALID.error(f"{path}: {exc.detail}") from exc


class _Invalid(Exception):
    """A problem in the file's content, reported with the file name by `load_calendar`."""


_TOP_KEYS: Final = frozenset({"weekend", "fixed_holidays", "schedules", "years"})
_SCHEDULE_KEYS: Final = frozenset({"name", "from", "to", "sessions"})
_SESSION_KEYS: Final = frozenset({"start", "end"})
_YEAR_KEYS: Final = frozenset({"holidays", "extra_working_days"})


def _from_toml(raw: Mapping[str, object]) -> WorkCalendar:
    _known_keys(raw, _TOP_KEYS, "top level")
    weekend = frozenset(_weekday(v) for v in _list(raw.get("weekend", []), "weekend"))
    fixed_raw = _list(raw.get("fixed_holidays", []), "fixed_holidays")
    fixed = frozenset(_month_day(v, "fixed_holidays") for v in fixed_raw)
    schedules = tuple(
        _schedule(v, i) for i, v in enumerate(_list(raw.get("schedules", []), "schedules"))
    )
    holidays: set[date] = set()
    extra: set[date] = set()
    years: set[int] = set()
    for key, value in _table(raw.get("years", {}), "years").items():
        if not re.fullmatch(r"\d{4}", key):
            raise _Invalid(f"[years.{key}]: the key must be a year (YYYY)")
        year = int(key)
        entry = _table(value, f"years.{key}")
        _known_keys(entry, _YEAR_KEYS, f"[years.{key}]")
        for field, target in (("holidays", holidays), ("extra_working_days", extra)):
            for item in _list(entry.get(field, []), f"years.{key}.{field}"):
                d = _date(item, f"years.{key}.{field}")
                if d.year != year:
                    raise _Invalid(f"years.{key}.{field}: {d.isoformat()} is not in {year}")
                target.add(d)
        years.add(year)
    return WorkCalendar(
        schedules=schedules,
        weekend=weekend,
        fixed_holidays=fixed,
        holidays=frozenset(holidays),
        extra_working_days=frozenset(extra),
        years=frozenset(years),
    )


def _schedule(value: object, index: int) -> Schedule:
    where = f"schedules[{index}]"
    entry = _table(value, where)
    _known_keys(entry, _SCHEDULE_KEYS, where)
    name = entry.get("name", f"#{index}")
    if not isinstance(name, str) or not name:
        raise _Invalid(f"{where}.name must be a non-empty string")
    where = f"schedule {name!r}"
    if ("from" in entry) != ("to" in entry):
        raise _Invalid(f"{where}: give both 'from' and 'to', or neither (all year)")
    first = _month_day(entry.get("from", "01-01"), f"{where}.from")
    last = _month_day(entry.get("to", "12-31"), f"{where}.to")
    sessions = []
    for i, item in enumerate(_list(entry.get("sessions", []), f"{where}.sessions")):
        s = _table(item, f"{where}.sessions[{i}]")
        _known_keys(s, _SESSION_KEYS, f"{where}.sessions[{i}]")
        if "start" not in s or "end" not in s:
            raise _Invalid(f"{where}.sessions[{i}] needs 'start' and 'end'")
        sessions.append(Session(_time(s["start"], where), _time(s["end"], where)))
    return Schedule(name=name, first=first, last=last, sessions=tuple(sessions))


def _known_keys(table: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _Invalid(f"{where}: unknown key(s) {unknown}; expected {sorted(allowed)}")


def _table(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be a table")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _Invalid(f"{where} must be a list")
    return value


def _weekday(value: object) -> int:
    if not isinstance(value, str) or value.strip().lower() not in _WEEKDAYS:
        raise _Invalid(f"weekend: {value!r} is not an English weekday name")
    return _WEEKDAYS[value.strip().lower()]


def _month_day(value: object, where: str) -> MonthDay:
    m = _MONTH_DAY.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise _Invalid(f'{where}: {value!r} is not a month-day "MM-DD"')
    month, day = int(m[1]), int(m[2])
    try:
        date(COVERAGE_YEAR, month, day)  # leap year: "02-29" is allowed
    except ValueError:
        raise _Invalid(f"{where}: {value!r} is not a real month-day") from None
    return (month, day)


def _time(value: object, where: str) -> time:
    if isinstance(value, time):  # a TOML local time, 07:30:00
        if value.tzinfo is not None:
            raise _Invalid(f"{where}: {value} must be a local time without offset")
        return value
    m = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise _Invalid(f'{where}: {value!r} is not a time "HH:MM" (00:00-23:59)')
    return time(int(m[1]), int(m[2]))


def _date(value: object, where: str) -> date:
    if isinstance(value, datetime):  # check first: a datetime is also a date
        raise _Invalid(f"{where}: {value} must be a date, not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _Invalid(f"{where}: {value!r} is not a date YYYY-MM-DD")
