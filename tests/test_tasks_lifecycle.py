"""The task state machine (Art. 13.3-13.5, 14.4.b): pure functions, fixed instants."""

from __future__ import annotations

from datetime import date

import pytest
from tasks_support import DOC_ID, KE_HOACH, NOI_VU, TAI_CHINH, UBND, at, entries

from axis import errors
from axis.errors import AxisError, Code
from axis.tasks import lifecycle as lc
from axis.tasks.deadlines import completed_on_time, is_overdue
from axis.tasks.lifecycle import Action, Task, TaskState
from axis.tasks.model import EventType, TaskEvent

REPLY_1 = "000.00.03.H37,2026/12/10,500/STC-ĐT"
REPLY_2 = "000.00.03.H37,2026/12/18,520/STC-ĐT"
EXT_REQ = "000.00.03.H37,2026/12/12,510/STC-ĐT"
EXT_OK = "000.00.00.H37,2026/12/14,140/UBND-KT"


def _task(i: int = 0) -> Task:
    """Task i of the assigning document, accepted by the node on 1 Dec at 09:00."""
    return lc.assign(entries()[i], document_id=DOC_ID, office=UBND, at=at(12, 1))


def _fails(code: Code, fn: object, *args: object, **kw: object) -> None:
    assert callable(fn)
    with pytest.raises(AxisError) as err:
        fn(*args, **kw)
    assert err.value.code is code, err.value


def test_received_replied_approved_completed_on_time() -> None:
    t0 = _task()  # deadline 15 Dec, lead Sở Tài chính
    t1 = lc.receive(t0, actor=TAI_CHINH, at=at(12, 1, 10))
    t2 = lc.reply(t1, actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 10, 15, 20))
    assert t2.state is TaskState.AWAITING_APPROVAL and t2.completed_at is None
    t3 = lc.approve_completion(t2, actor=UBND, at=at(12, 17), document_id=REPLY_1)
    assert t3.state is TaskState.COMPLETED
    # 13.4: the completion time is when the node accepted the reply, not the approval.
    assert t3.completed_at == at(12, 10, 15, 20)
    assert completed_on_time(t3) is True
    assert [h.action for h in t3.history] == [
        Action.ASSIGNED, Action.RECEIVED, Action.REPLIED, Action.COMPLETION_APPROVED]
    assert [(h.before, h.after) for h in t3.history][-1] == (
        TaskState.AWAITING_APPROVAL, TaskState.COMPLETED)
    # Values are frozen: every step made a new task and left the old one alone.
    assert t0.state is TaskState.ASSIGNED and len(t0.history) == 1
    # Completed: nothing more moves it.
    _fails(errors.TASK_TRANSITION_INVALID, lc.reply, t3, actor=TAI_CHINH,
           document_id=REPLY_2, at=at(12, 18))


def test_refused_reopens_and_a_late_second_reply_completes_late() -> None:
    t = lc.reply(_task(), actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 10))
    t = lc.refuse_completion(t, actor=UBND, at=at(12, 12), reason="Thiếu số liệu huyện")
    assert t.state is TaskState.RECEIVED and t.reply is None  # 13.3.c: the work restarts
    _fails(errors.TASK_TRANSITION_INVALID, lc.approve_completion, t, actor=UBND, at=at(12, 13))
    t = lc.reply(t, actor=TAI_CHINH, document_id=REPLY_2, at=at(12, 18))
    t = lc.approve_completion(t, actor=UBND, at=at(12, 19))
    assert t.completed_at == at(12, 18)
    assert completed_on_time(t) is False
    assert [r.document_id for r in t.replies] == [REPLY_1, REPLY_2]


def test_the_deadline_day_counts_whole() -> None:
    t = lc.reply(_task(), actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 15, 23, 59))
    assert completed_on_time(lc.approve_completion(t, actor=UBND, at=at(12, 16))) is True
    assert not is_overdue(_task(), at(12, 15, 23, 59))
    assert is_overdue(_task(), at(12, 16, 0, 0))


def test_extension_in_time_approved_and_the_new_deadline_met() -> None:
    t = lc.receive(_task(), actor=TAI_CHINH, at=at(12, 2))
    t = lc.request_extension(t, actor=TAI_CHINH, at=at(12, 12), document_id=EXT_REQ,
                             asked_deadline=date(2026, 12, 31), reason="Chờ số liệu")
    assert t.pending_extension is not None and t.state is TaskState.RECEIVED
    _fails(errors.TASK_TRANSITION_INVALID, lc.request_extension, t, actor=TAI_CHINH,
           at=at(12, 13), document_id=EXT_REQ)  # one pending request at a time
    # The Office decides after the original deadline: the request was in time.
    t = lc.approve_extension(t, actor=UBND, at=at(12, 16), new_deadline=date(2026, 12, 31),
                             document_id=EXT_OK)
    assert (t.deadline, t.original_deadline) == (date(2026, 12, 31), date(2026, 12, 15))
    assert [(c.previous, c.new, c.document_id) for c in t.deadline_changes] == [
        (date(2026, 12, 15), date(2026, 12, 31), EXT_OK)]
    assert not is_overdue(t, at(12, 20))
    t = lc.reply(t, actor=TAI_CHINH, document_id=REPLY_2, at=at(12, 28))
    t = lc.approve_completion(t, actor=UBND, at=at(12, 29))
    assert completed_on_time(t) is True


def test_extension_after_the_deadline_is_refused_and_the_task_stays_overdue() -> None:
    t = lc.receive(_task(), actor=TAI_CHINH, at=at(12, 2))
    _fails(errors.TASK_EXTENSION_LATE, lc.request_extension, t, actor=TAI_CHINH,
           at=at(12, 16, 0, 0), document_id=EXT_REQ)
    assert is_overdue(t, at(12, 16))
    # The last minute of the deadline's day is still within it.
    ok = lc.request_extension(t, actor=TAI_CHINH, at=at(12, 15, 23, 59), document_id=EXT_REQ)
    assert ok.pending_extension is not None


def test_extension_decisions_need_a_request_a_later_deadline_and_the_office() -> None:
    t = _task()
    _fails(errors.TASK_TRANSITION_INVALID, lc.approve_extension, t, actor=UBND, at=at(12, 5),
           new_deadline=date(2026, 12, 31), document_id=EXT_OK)
    t = lc.request_extension(t, actor=TAI_CHINH, at=at(12, 5), document_id=EXT_REQ)
    _fails(errors.TASK_DEADLINE_INVALID, lc.approve_extension, t, actor=UBND, at=at(12, 6),
           new_deadline=date(2026, 12, 15), document_id=EXT_OK)
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.approve_extension, t, actor=TAI_CHINH,
           at=at(12, 6), new_deadline=date(2026, 12, 31), document_id=EXT_OK)
    _fails(errors.TASK_TRANSITION_INVALID, lc.request_extension, _task(), actor=TAI_CHINH,
           at=at(12, 5), document_id="")  # 13.5: the request document is attached
    refused = lc.refuse_extension(t, actor=UBND, at=at(12, 6), reason="Không có căn cứ")
    assert refused.pending_extension is None and refused.deadline == date(2026, 12, 15)
    assert refused.history[-1].action is Action.EXTENSION_REFUSED


def test_a_task_returned_as_wrongly_assigned() -> None:
    t = _task(1)  # lead Sở Nội vụ
    _fails(errors.TASK_REASON_MISSING, lc.return_to_office, t, actor=NOI_VU, at=at(12, 2),
           reason=" ")
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.return_to_office, t, actor=TAI_CHINH,
           at=at(12, 2), reason="Không thuộc chức năng")
    t = lc.return_to_office(t, actor=NOI_VU, at=at(12, 2), reason="Không thuộc chức năng")
    assert t.state is TaskState.RETURNED and not t.is_open
    assert t.history[-1].reason == "Không thuộc chức năng"
    _fails(errors.TASK_TRANSITION_INVALID, lc.reply, t, actor=NOI_VU, document_id=REPLY_1,
           at=at(12, 3))
    assert not is_overdue(t, at(12, 31, 23))  # a returned task is nobody's overdue task


def test_a_supporting_agency_refuses_support_with_a_reason() -> None:
    t = _task(2)  # lead Sở Kế hoạch; supporting Tài chính and Nội vụ
    _fails(errors.TASK_REASON_MISSING, lc.refuse_support, t, actor=TAI_CHINH, at=at(12, 3),
           reason="")
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.refuse_support, t, actor=KE_HOACH, at=at(12, 3),
           reason="x")
    t = lc.refuse_support(t, actor=TAI_CHINH, at=at(12, 3),
                          reason="Nội dung không thuộc thẩm quyền (14.4.b)")
    assert t.state is TaskState.ASSIGNED  # support refused leaves the task as it is
    assert [(r.agency, r.reason) for r in t.support_refusals] == [
        (TAI_CHINH, "Nội dung không thuộc thẩm quyền (14.4.b)")]
    _fails(errors.TASK_TRANSITION_INVALID, lc.refuse_support, t, actor=TAI_CHINH,
           at=at(12, 4), reason="lần nữa")


def test_only_the_lead_acts_for_the_lead_and_only_the_office_for_the_office() -> None:
    t = _task()
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.receive, t, actor=NOI_VU, at=at(12, 2))
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.reply, t, actor=UBND, document_id=REPLY_1,
           at=at(12, 2))
    t = lc.reply(t, actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 5))
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.approve_completion, t, actor=TAI_CHINH,
           at=at(12, 6))
    # The Office approves the reply awaiting approval, not another document.
    _fails(errors.TASK_TRANSITION_INVALID, lc.approve_completion, t, actor=UBND, at=at(12, 6),
           document_id=REPLY_2)


def test_receive_is_idempotent_and_a_reply_implies_receipt() -> None:
    t = lc.receive(_task(), actor=TAI_CHINH, at=at(12, 1, 10))
    assert lc.receive(t, actor=TAI_CHINH, at=at(12, 1, 11)) is t
    direct = lc.reply(_task(), actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 4))
    assert direct.received_at == at(12, 4)


def test_a_newer_reply_replaces_the_one_awaiting_approval() -> None:
    t = lc.reply(_task(), actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 4))
    t = lc.reply(t, actor=TAI_CHINH, document_id=REPLY_2, at=at(12, 5))
    t = lc.approve_completion(t, actor=UBND, at=at(12, 6), document_id=REPLY_2)
    assert t.completed_at == at(12, 5)


def test_the_office_corrects_the_description_and_history_keeps_the_old_one() -> None:
    old = _task().content
    t = lc.correct(_task(), actor=UBND, at=at(12, 2), content="Nội dung đã sửa")
    assert t.content == "Nội dung đã sửa" and t.history[-1].reason == old
    _fails(errors.TASK_ACTOR_NOT_ALLOWED, lc.correct, t, actor=TAI_CHINH, at=at(12, 2),
           content="x")


def test_events_from_the_wire_drive_the_same_functions() -> None:
    code = entries()[0].code
    t = lc.apply_event(_task(), TaskEvent(code, EventType.RECEIVED), actor=TAI_CHINH,
                       at=at(12, 2))
    t = lc.apply_event(t, TaskEvent(code, EventType.EXTENSION_REQUESTED,
                                    new_deadline=date(2026, 12, 31), documents=(EXT_REQ,)),
                       actor=TAI_CHINH, at=at(12, 12))
    t = lc.apply_event(t, TaskEvent(code, EventType.EXTENSION_APPROVED,
                                    new_deadline=date(2026, 12, 30), documents=(EXT_OK,)),
                       actor=UBND, at=at(12, 14))
    assert t.deadline == date(2026, 12, 30)
    t = lc.reply(t, actor=TAI_CHINH, document_id=REPLY_1, at=at(12, 20))
    # The Office's status is about the reply document (ResponseFor).
    t = lc.apply_event(t, TaskEvent(code, EventType.COMPLETION_APPROVED), actor=UBND,
                       at=at(12, 21), status_document_id=REPLY_1)
    assert t.state is TaskState.COMPLETED and t.completed_at == at(12, 20)
    assert [h.action.value for h in t.history] == [
        "assigned", "received", "extension-requested", "extension-approved", "replied",
        "completion-approved"]
    _fails(errors.TASK_UNKNOWN, lc.apply_event, t, TaskEvent("other", EventType.RECEIVED),
           actor=TAI_CHINH, at=at(12, 22))
    supported = lc.apply_event(
        _task(2), TaskEvent(entries()[2].code, EventType.SUPPORT_REFUSED, reason="Lý do"),
        actor=NOI_VU, at=at(12, 3))
    assert supported.support_refusals[0].agency == NOI_VU
    returned = lc.apply_event(
        _task(1), TaskEvent(entries()[1].code, EventType.RETURNED, reason="Giao nhầm"),
        actor=NOI_VU, at=at(12, 3))
    assert returned.state is TaskState.RETURNED
