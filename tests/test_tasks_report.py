"""Report periods and the national buckets, on tasks driven through the lifecycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from tasks_support import DOC_ID, KE_HOACH, NOI_VU, TAI_CHINH, UBND, at, entries

from axis import errors
from axis.errors import AxisError
from axis.tasks import lifecycle as lc
from axis.tasks.lifecycle import Task
from axis.tasks.model import TaskEntry
from axis.tasks.report import (
    TOTAL,
    Bucket,
    Period,
    PeriodConfig,
    build_report,
    classify,
    parse_period,
)

DECEMBER = parse_period("2026-12")  # 15 Nov → 14 Dec


@pytest.mark.parametrize(("label", "start", "end"), [
    ("2026-11", date(2026, 10, 15), date(2026, 11, 14)),
    ("2026-01", date(2025, 12, 15), date(2026, 1, 14)),
    ("2026-Q4", date(2026, 9, 15), date(2026, 12, 14)),
    ("2026-q1", date(2025, 12, 15), date(2026, 3, 14)),
    ("2026-H1", date(2025, 12, 15), date(2026, 6, 14)),
    ("2026-H2", date(2026, 6, 15), date(2026, 12, 14)),
    ("2026", date(2025, 12, 15), date(2026, 12, 14)),
    ("2026-10-01..2026-10-31", date(2026, 10, 1), date(2026, 10, 31)),
])
def test_provincial_period_windows(label: str, start: date, end: date) -> None:
    p = parse_period(label)
    assert (p.start, p.end) == (start, end)


def test_windows_are_configuration() -> None:
    calendar_months = PeriodConfig(start_day=1)
    assert parse_period("2026-Q1", calendar_months) == Period("2026-Q1", date(2026, 1, 1),
                                                              date(2026, 3, 31))
    assert parse_period("2028-02", calendar_months).end == date(2028, 2, 29)
    assert parse_period("2026-03", PeriodConfig(start_day=20)) == Period(
        "2026-03", date(2026, 2, 20), date(2026, 3, 19))
    with pytest.raises(AxisError) as err:
        PeriodConfig(start_day=30)
    assert err.value.code is errors.CONFIG_INVALID


@pytest.mark.parametrize("label", ["2026-13", "2026-Q5", "2026-H3", "26", "Q4",
                                   "2026-10-31..2026-10-01", "2026-02-30..2026-03-01", ""])
def test_bad_periods_are_refused(label: str) -> None:
    with pytest.raises(AxisError) as err:
        parse_period(label)
    assert err.value.code is errors.TASK_PERIOD_INVALID


def _task(code: str, lead: str, deadline: date, assigned: int = 20, month: int = 11) -> Task:
    entry = replace(entries()[0], code=code, lead=replace(entries()[0].lead, organ_id=lead),
                    deadline=deadline, supporting=())
    assert isinstance(entry, TaskEntry)
    return lc.assign(entry, document_id=DOC_ID, office=UBND, at=at(month, assigned))


def _done(t: Task, replied: tuple[int, ...], approved: tuple[int, ...]) -> Task:
    t = lc.reply(t, actor=t.lead.organ_id, document_id=f"reply-{t.code}", at=at(*replied))
    return lc.approve_completion(t, actor=UBND, at=at(*approved))


def _scenario() -> list[Task]:
    on_time = _done(_task("T1", TAI_CHINH, date(2026, 12, 10)), (12, 9), (12, 11))
    late = _done(_task("T2", TAI_CHINH, date(2026, 12, 1)), (12, 3), (12, 4))
    overdue = _task("T3", KE_HOACH, date(2026, 12, 5))
    due_later = _task("T4", NOI_VU, date(2026, 12, 31))
    # Replied inside the period, approved after it ended but before the report: counts,
    # with the reply's acceptance time (13.4).
    approved_after = _done(_task("T5", NOI_VU, date(2026, 12, 14)), (12, 14, 16), (12, 17))
    # Extended in time from 1 Dec to 20 Dec: not overdue at the cut.
    extended = lc.approve_extension(
        lc.request_extension(_task("T6", KE_HOACH, date(2026, 12, 1)), actor=KE_HOACH,
                             at=at(11, 28), document_id="ext-req"),
        actor=UBND, at=at(12, 2), new_deadline=date(2026, 12, 20), document_id="ext-ok")
    returned = lc.return_to_office(_task("T7", KE_HOACH, date(2026, 12, 5)), actor=KE_HOACH,
                                   at=at(11, 22), reason="Giao nhầm")
    earlier = _done(_task("T8", TAI_CHINH, date(2026, 11, 10), month=10), (11, 5), (11, 6))
    after_period = _task("T9", TAI_CHINH, date(2026, 12, 30), assigned=15, month=12)
    overdue_backlog = _task("T10", KE_HOACH, date(2026, 10, 30), month=10)
    return [on_time, late, overdue, due_later, approved_after, extended, returned, earlier,
            after_period, overdue_backlog]


def test_every_bucket_per_agency_and_in_total_with_its_codes() -> None:
    report = build_report(_scenario(), DECEMBER, at(12, 20))
    rows = {r.agency: r for r in report.rows}
    assert set(rows) == {TAI_CHINH, KE_HOACH, NOI_VU}
    assert dict(rows[TAI_CHINH].codes) == {Bucket.COMPLETED_ON_TIME: ("T1",),
                                           Bucket.COMPLETED_LATE: ("T2",)}
    assert dict(rows[KE_HOACH].codes) == {Bucket.OPEN_OVERDUE: ("T10", "T3"),
                                          Bucket.NOT_YET_DUE: ("T6",)}
    assert dict(rows[NOI_VU].codes) == {Bucket.COMPLETED_ON_TIME: ("T5",),
                                        Bucket.NOT_YET_DUE: ("T4",)}
    total = report.total
    assert total.agency == TOTAL and total.total == 7
    assert [total.count(b) for b in Bucket] == [2, 1, 0, 2, 2]
    assert total.rate(Bucket.COMPLETED_ON_TIME) == pytest.approx(2 / 7)
    assert rows[TAI_CHINH].rate(Bucket.COMPLETED_LATE) == 0.5
    assert total.open_in_time == 2 and rows[KE_HOACH].open_in_time == 1


def test_a_live_view_inside_the_period() -> None:
    tasks = _scenario()
    # On 4 Dec at noon: T1 is open with its deadline (10 Dec) still ahead, in the period;
    # T2 completed late (replied 3 Dec); T3 (5 Dec) not yet passed either.
    by_code = {t.code: classify(t, DECEMBER, at(12, 4, 12)) for t in tasks}
    assert by_code["T1"] is Bucket.OPEN_WITHIN_DEADLINE
    assert by_code["T2"] is Bucket.COMPLETED_LATE
    assert by_code["T3"] is Bucket.OPEN_WITHIN_DEADLINE
    # An extension approved after the report instant does not count yet: at 2 Dec 08:00
    # the approval (2 Dec, 09:00) is unknown and T6's deadline is the original 1 Dec.
    assert classify(tasks[5], DECEMBER, at(12, 2, 8)) is Bucket.OPEN_OVERDUE
    assert by_code["T9"] is None  # assigned after the report instant
    # The approval of T5 comes after 14 Dec: on the 14th itself it is still open, and on
    # the 16th, its reply (14 Dec, in time) still awaiting approval, it is not overdue.
    assert classify(tasks[4], DECEMBER, at(12, 14, 18)) is Bucket.OPEN_WITHIN_DEADLINE
    assert classify(tasks[4], DECEMBER, at(12, 16)) is Bucket.OPEN_WITHIN_DEADLINE


def test_empty_report() -> None:
    report = build_report([], DECEMBER, at(12, 20))
    assert report.rows == () and report.total.total == 0
    assert report.total.rate(Bucket.OPEN_OVERDUE) == 0.0


def test_a_reply_in_time_awaiting_approval_is_not_overdue() -> None:
    # Replied on 4 Dec for a 5 Dec deadline; the Office has not decided by the cut.
    waiting = lc.reply(_task("T11", NOI_VU, date(2026, 12, 5)), actor=NOI_VU,
                       document_id="reply-T11", at=at(12, 4))
    # Replied on 6 Dec, after the deadline: overdue until approved (then: late).
    late = lc.reply(_task("T12", NOI_VU, date(2026, 12, 5)), actor=NOI_VU,
                    document_id="reply-T12", at=at(12, 6))
    # Replied in time, refused, not replied again: overdue.
    refused = lc.refuse_completion(
        lc.reply(_task("T13", NOI_VU, date(2026, 12, 5)), actor=NOI_VU,
                 document_id="reply-T13", at=at(12, 3)),
        actor=UBND, at=at(12, 4), reason="Chưa đạt")
    report = build_report([waiting, late, refused], DECEMBER, at(12, 20))
    assert dict(report.total.codes) == {Bucket.OPEN_WITHIN_DEADLINE: ("T11",),
                                        Bucket.OPEN_OVERDUE: ("T12", "T13")}
