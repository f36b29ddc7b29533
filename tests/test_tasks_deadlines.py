"""Task deadlines on the office calendar as shipped (axis/_data/config/calendar.toml):
2026-08-31, 09-01 and 09-02 are days off (National Day), Saturday 2026-08-22 is a
make-up working day; summer office hours start at 07:00, winter ones at 07:30."""

from __future__ import annotations

from datetime import date

import pytest
from tasks_support import DOC_ID, TAI_CHINH, UBND, at, entries, office_calendar

from axis.calendar import WorkCalendar
from axis.tasks import lifecycle as lc
from axis.tasks.deadlines import (
    Offset,
    ReminderKind,
    ReminderPolicy,
    Unit,
    is_overdue,
    reminders,
    reminders_due,
    working_days_left,
)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return office_calendar()


def test_a_holiday_inside_a_deadline_leaves_fewer_working_days(cal: WorkCalendar) -> None:
    # Thu 27 Aug → Thu 3 Sep: Fri 28, then the weekend and three days off, then Thu 3.
    assert working_days_left(date(2026, 8, 27), date(2026, 9, 3), cal) == 2
    # The same span a week later, no holiday: Fri, Mon, Tue, Wed, Thu.
    assert working_days_left(date(2026, 9, 3), date(2026, 9, 10), cal) == 5
    assert working_days_left(date(2026, 9, 3), date(2026, 9, 3), cal) == 0
    # Overdue: negative, the working days since the deadline up to today.
    assert working_days_left(date(2026, 9, 8), date(2026, 9, 3), cal) == -3
    # The make-up Saturday counts as a working day.
    assert working_days_left(date(2026, 8, 21), date(2026, 8, 24), cal) == 2


def test_default_reminders_skip_days_off(cal: WorkCalendar) -> None:
    found = reminders(date(2026, 9, 3), cal)
    assert [(r.at, r.kind) for r in found] == [
        (at(8, 26, 7), ReminderKind.BEFORE),  # 3 working days before, over the holidays
        (at(8, 28, 7), ReminderKind.BEFORE),  # "1 day before" is 2 Sep, a day off: Fri 28
        (at(9, 4, 7), ReminderKind.OVERDUE),  # the first working day after the deadline
    ]


def test_a_reminder_lands_on_a_make_up_saturday(cal: WorkCalendar) -> None:
    found = reminders(date(2026, 8, 24), cal, ReminderPolicy(before=(Offset(1, Unit.DAYS),),
                                                             overdue=()))
    assert [r.at for r in found] == [at(8, 22, 7)]  # Sunday 23 → the make-up Saturday 22


def test_reminders_use_the_season_hours_and_merge_duplicates(cal: WorkCalendar) -> None:
    policy = ReminderPolicy(before=(Offset(1), Offset(1, Unit.DAYS)), overdue=(Offset(2),))
    found = reminders(date(2026, 12, 15), cal, policy)  # Tuesday, winter hours
    assert [(r.at, r.kind) for r in found] == [
        (at(12, 14, 7, 30), ReminderKind.BEFORE), (at(12, 17, 7, 30), ReminderKind.OVERDUE)]
    with pytest.raises(ValueError):
        Offset(-1)


def test_reminders_due_in_a_scheduler_window(cal: WorkCalendar) -> None:
    task = lc.assign(entries()[0], document_id=DOC_ID, office=UBND, at=at(12, 1))
    # Deadline Tue 15 Dec: reminders on Thu 10, Mon 14 and Wed 16 at 07:30.
    due = reminders_due(task, at(12, 10, 0), at(12, 14, 8), cal)
    assert [r.at for r in due] == [at(12, 10, 7, 30), at(12, 14, 7, 30)]
    assert reminders_due(task, at(12, 14, 7, 30), at(12, 15, 23), cal) == ()
    replied = lc.reply(task, actor=TAI_CHINH, document_id="r", at=at(12, 9))
    assert reminders_due(replied, at(12, 1), at(12, 31), cal) == ()  # the Office's move
    done = lc.approve_completion(replied, actor=UBND, at=at(12, 9, 10))
    assert reminders_due(done, at(12, 1), at(12, 31), cal) == ()


def test_a_reply_in_time_awaiting_approval_is_not_overdue() -> None:
    task = lc.assign(entries()[0], document_id=DOC_ID, office=UBND, at=at(12, 1))
    assert is_overdue(task, at(12, 16))
    in_time = lc.reply(task, actor=TAI_CHINH, document_id="r", at=at(12, 15, 17))
    assert not is_overdue(in_time, at(12, 20))
    late = lc.reply(task, actor=TAI_CHINH, document_id="r", at=at(12, 16, 8))
    assert is_overdue(late, at(12, 20))
