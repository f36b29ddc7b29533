"""Report periods and the national buckets (Art. 14.3.đ; issue 12, item 5 core).

Periods. Provincial practice runs a period from the 15th of the month before it to the
14th of its last month (month: 15th → 14th; quarter: to the 14th of its last month;
half-year: 15 Dec → 14 Jun; year: 15 Dec → 14 Dec). Provinces differ, so the start day is
configuration (`PeriodConfig.start_day`; 1 gives calendar months). Labels: `2026-11`,
`2026-Q4`, `2026-H2`, `2026`, or a custom `2026-10-01..2026-10-31`.

Buckets, per lead agency and in total, each keeping the task codes behind its number:

- completed on time / completed late: completion (13.4: the node's acceptance of the
  approved reply) inside the period, against the deadline in force (13.5);
- not completed, within the deadline: open at the period's cut, deadline in the period
  and not yet passed;
- not completed, overdue: open at the cut and its deadline's day over, including tasks
  overdue from earlier periods (they stay until completed); a reply accepted in time and
  still awaiting the Office's approval at the cut is not overdue (13.4);
- not yet due: open, deadline after the period.

The national four-bucket table has one "not completed, within the deadline" figure: it is
`open_within_deadline + not_yet_due` (`Row.open_in_time`); the split says which of those
tasks fall due inside the period (only a live view, made before the period ends, can have
any: at the period's end every deadline inside it has passed).

The cut is the end of the period, or `as_of` when the report is made before the period
ends (a live view). What is known is what happened up to `as_of`: a completion approved
after the period's end but before the report counts, with its completion time. Tasks
returned to the Office (13.3.a) are not counted; tasks completed before the period were
reported then.
"""

from __future__ import annotations

import calendar as gregorian
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from types import MappingProxyType

from axis import errors
from axis.clock import VN_TZ, as_vietnam
from axis.tasks.lifecycle import Action, Task, deadline_end


@dataclass(frozen=True, slots=True)
class PeriodConfig:
    start_day: int = 15  # a period starts on this day of the month before it

    def __post_init__(self) -> None:
        if not 1 <= self.start_day <= 28:
            raise errors.CONFIG_INVALID.error(
                f"tasks report start_day {self.start_day}: must be 1-28")


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: date  # inclusive
    end: date  # inclusive


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_HALF = re.compile(r"(\d{4})-H([12])")
_YEAR = re.compile(r"(\d{4})")
_CUSTOM = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


def parse_period(label: str, config: PeriodConfig = PeriodConfig()) -> Period:
    """The window of a period label, or `task.period_invalid`."""
    s = label.strip().upper()
    try:
        if m := _CUSTOM.fullmatch(s):
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if end < start:
                raise ValueError("ends before it starts")
            return Period(label.strip(), start, end)
        if m := _QUARTER.fullmatch(s):
            last = int(m[2]) * 3
            return _window(s, int(m[1]), last - 2, last, config)
        if m := _HALF.fullmatch(s):
            last = int(m[2]) * 6
            return _window(s, int(m[1]), last - 5, last, config)
        if m := _MONTH.fullmatch(s):
            return _window(s, int(m[1]), int(m[2]), int(m[2]), config)
        if m := _YEAR.fullmatch(s):
            return _window(s, int(m[1]), 1, 12, config)
    except ValueError as exc:
        raise errors.TASK_PERIOD_INVALID.error(f"{label!r}: {exc}") from exc
    raise errors.TASK_PERIOD_INVALID.error(repr(label))


def _window(label: str, year: int, first: int, last: int, config: PeriodConfig) -> Period:
    """Months `first`..`last` of `year` under the configured start day."""
    if not 1 <= first <= last <= 12 or not 1 <= year <= 9998:
        raise ValueError("no such month")
    if config.start_day == 1:
        end_day = gregorian.monthrange(year, last)[1]
        return Period(label, date(year, first, 1), date(year, last, end_day))
    start_year, start_month = (year - 1, 12) if first == 1 else (year, first - 1)
    return Period(label, date(start_year, start_month, config.start_day),
                  date(year, last, config.start_day - 1))


class Bucket(str, Enum):
    COMPLETED_ON_TIME = "completed_on_time"  # đến hạn, hoàn thành đúng hạn
    COMPLETED_LATE = "completed_late"  # đến hạn, hoàn thành quá hạn
    OPEN_WITHIN_DEADLINE = "open_within_deadline"  # chưa hoàn thành, trong hạn
    OPEN_OVERDUE = "open_overdue"  # chưa hoàn thành, quá hạn
    NOT_YET_DUE = "not_yet_due"  # chưa đến hạn


@dataclass(frozen=True, slots=True)
class Row:
    """One agency's (or the total's) buckets; each number is the length of its codes."""

    agency: str
    codes: Mapping[Bucket, tuple[str, ...]] = field(default_factory=dict)

    def count(self, bucket: Bucket) -> int:
        return len(self.codes.get(bucket, ()))

    @property
    def total(self) -> int:
        return sum(self.count(b) for b in Bucket)

    @property
    def open_in_time(self) -> int:
        """The national table's "not completed, within the deadline"."""
        return self.count(Bucket.OPEN_WITHIN_DEADLINE) + self.count(Bucket.NOT_YET_DUE)

    def rate(self, bucket: Bucket) -> float:
        """The bucket's share of the row's total, 0.0-1.0 (0.0 for an empty row)."""
        return self.count(bucket) / self.total if self.total else 0.0


TOTAL = "*"


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    as_of: datetime
    rows: tuple[Row, ...]  # per lead agency, by identifier
    total: Row


def cut_of(period: Period, as_of: datetime) -> datetime:
    end = datetime.combine(period.end + timedelta(days=1), time(0), VN_TZ)
    return min(as_vietnam(as_of), end)


def classify(task: Task, period: Period, as_of: datetime) -> Bucket | None:
    """The task's bucket in `period`, as known at `as_of`; None when it is not counted."""
    as_of = as_vietnam(as_of)
    cut = cut_of(period, as_of)
    if task.assigned_at >= cut or _happened(task, Action.RETURNED, as_of):
        return None
    deadline = _deadline_as_of(task, as_of)
    completed_at = task.completed_at if _happened(
        task, Action.COMPLETION_APPROVED, as_of) else None
    if completed_at is not None:
        start = datetime.combine(period.start, time(0), VN_TZ)
        if completed_at < start:
            return None
        if completed_at < cut:
            return (Bucket.COMPLETED_ON_TIME if completed_at < deadline_end(deadline)
                    else Bucket.COMPLETED_LATE)
    pending = _pending_reply_at(task, as_of)
    # A reply accepted in time and awaiting the Office's approval at the cut is not
    # overdue: the agency has done its part, and once approved its completion time is the
    # reply's (Art. 13.4). The Office's delay must not count against the lead.
    late = cut >= deadline_end(deadline) and not (
        pending is not None and pending < deadline_end(deadline))
    if late:
        return Bucket.OPEN_OVERDUE
    if deadline <= period.end:
        return Bucket.OPEN_WITHIN_DEADLINE
    return Bucket.NOT_YET_DUE


def build_report(tasks: Iterable[Task], period: Period, as_of: datetime) -> Report:
    by_agency: dict[str, dict[Bucket, list[str]]] = {}
    total: dict[Bucket, list[str]] = {}
    for task in tasks:
        bucket = classify(task, period, as_of)
        if bucket is None:
            continue
        by_agency.setdefault(task.lead.organ_id, {}).setdefault(bucket, []).append(task.code)
        total.setdefault(bucket, []).append(task.code)
    rows = tuple(_row(agency, by_agency[agency]) for agency in sorted(by_agency))
    return Report(period, as_vietnam(as_of), rows, _row(TOTAL, total))


def _row(agency: str, codes: dict[Bucket, list[str]]) -> Row:
    return Row(agency, MappingProxyType({b: tuple(sorted(c)) for b, c in codes.items()}))


def _pending_reply_at(task: Task, as_of: datetime) -> datetime | None:
    """When the reply awaiting approval at `as_of` was accepted; None if none awaits."""
    pending: datetime | None = None
    for t in sorted(task.history, key=lambda t: t.at):
        if t.at > as_of:
            break
        if t.action is Action.REPLIED:
            pending = pending or t.at  # a second reply before a decision: the first counts
        elif t.action in (Action.COMPLETION_REFUSED, Action.COMPLETION_APPROVED):
            pending = None
    return pending


def _happened(task: Task, action: Action, as_of: datetime) -> bool:
    return any(t.action is action and t.at <= as_of for t in task.history)


def _deadline_as_of(task: Task, as_of: datetime) -> date:
    """The deadline in force at `as_of`: extensions approved later do not count yet."""
    deadline = task.original_deadline
    for change in task.deadline_changes:
        if change.at <= as_of:
            deadline = change.new
    return deadline
