"""Task deadlines on the office's working calendar (issue 12, item 4).

A deadline is a calendar day and the whole day counts (`lifecycle.deadline_end`). "Due in
N working days" and reminders use `WorkCalendar` (weekends, holidays, make-up Saturdays),
so a holiday inside a deadline shortens the working time left, and no reminder is sent on
a day the offices are closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from axis.calendar import WorkCalendar
from axis.clock import as_vietnam
from axis.tasks.lifecycle import Task, TaskState, deadline_end


class Unit(str, Enum):
    WORKING_DAYS = "working_days"
    DAYS = "days"


@dataclass(frozen=True, slots=True)
class Offset:
    """`amount` days or working days, before or after a deadline."""

    amount: int
    unit: Unit = Unit.WORKING_DAYS

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"an offset counts forward from the deadline: {self.amount}")


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When to remind the lead agency and the following officer (configurable).

    Default: 3 working days and 1 day before the deadline, and the first working day
    after it (overdue).
    """

    before: tuple[Offset, ...] = (Offset(3), Offset(1, Unit.DAYS))
    overdue: tuple[Offset, ...] = (Offset(1),)


class ReminderKind(str, Enum):
    BEFORE = "before"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Reminder:
    at: datetime
    kind: ReminderKind
    offset: Offset
    deadline: date


def is_overdue(task: Task, now: datetime) -> bool:
    """Open and past the end of its deadline's day (13.5: "not completed, overdue").

    A reply accepted within the deadline and awaiting the Office's approval is not
    overdue: if approved, its completion time is the reply's (13.4). (Reports still count
    it "not completed" until the approval: `axis.tasks.report`.)
    """
    if not task.is_open or as_vietnam(now) < deadline_end(task.deadline):
        return False
    pending = task.reply if task.state is TaskState.AWAITING_APPROVAL else None
    return pending is None or pending.accepted_at >= deadline_end(task.deadline)


def completed_on_time(task: Task) -> bool | None:
    """None while not completed; else whether the completion time (13.4) is within the
    deadline in force (an approved extension's, 13.5)."""
    if task.completed_at is None:
        return None
    return task.completed_at < deadline_end(task.deadline)


def working_days_left(today: date, deadline: date, calendar: WorkCalendar) -> int:
    """"Due in N working days": working days after `today` up to the deadline, inclusive.

    0 on the deadline itself (or when only days off remain); negative once overdue: minus
    the working days from the day after the deadline up to `today`, inclusive.
    """
    if deadline >= today:
        return _count(today, deadline, calendar)
    return -_count(deadline, today, calendar)


def _count(after: date, upto: date, calendar: WorkCalendar) -> int:
    n, d = 0, after
    while d < upto:
        d += timedelta(days=1)
        n += calendar.is_working_day(d)
    return n


def reminders(deadline: date, calendar: WorkCalendar,
              policy: ReminderPolicy = ReminderPolicy()) -> tuple[Reminder, ...]:
    """Every reminder instant of a deadline, in time order, at the start of the office
    day (its first session). A reminder that would fall on a day off moves to the
    previous working day when it warns ahead, to the next one when it reports overdue;
    two offsets that land on the same instant give one reminder."""
    out: dict[datetime, Reminder] = {}
    for off in policy.before:
        if off.unit is Unit.WORKING_DAYS:
            day = calendar.add_working_days(deadline, -off.amount) if off.amount else deadline
        else:
            day = deadline - timedelta(days=off.amount)
        if not calendar.is_working_day(day):
            day = calendar.previous_working_day(day)
        at = _opening(day, calendar)
        out.setdefault(at, Reminder(at, ReminderKind.BEFORE, off, deadline))
    for off in policy.overdue:
        if off.unit is Unit.WORKING_DAYS:
            day = calendar.add_working_days(deadline, max(off.amount, 1))
        else:
            day = deadline + timedelta(days=max(off.amount, 1))
            if not calendar.is_working_day(day):
                day = calendar.next_working_day(day)
        at = _opening(day, calendar)
        out.setdefault(at, Reminder(at, ReminderKind.OVERDUE, off, deadline))
    return tuple(out[k] for k in sorted(out))


def reminders_due(task: Task, after: datetime, upto: datetime, calendar: WorkCalendar,
                  policy: ReminderPolicy = ReminderPolicy()) -> tuple[Reminder, ...]:
    """The reminders of a task whose instant is in (`after`, `upto`]: what a scheduler
    run covering that span must send to the lead and the follower. None once the lead has
    replied (awaiting approval: the Office's move) or the task is closed."""
    if task.state not in (TaskState.ASSIGNED, TaskState.RECEIVED):
        return ()
    lo, hi = as_vietnam(after), as_vietnam(upto)
    return tuple(r for r in reminders(task.deadline, calendar, policy) if lo < r.at <= hi)


def _opening(day: date, calendar: WorkCalendar) -> datetime:
    sessions = calendar.sessions_on(day)
    assert sessions, day  # callers pass working days only
    return sessions[0][0]
