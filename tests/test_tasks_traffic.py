"""Accepted traffic → task transitions: real packages built, validated and read as the
node reads them, then the pure functions the wiring calls (axis/tasks/traffic.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from tasks_support import (
    DOC_ID,
    KE_HOACH,
    NOI_VU,
    TAI_CHINH,
    UBND,
    assigning_document,
    assigning_package,
    at,
    entries,
)

from axis import errors
from axis.edxml.model import (
    DocumentPackage,
    Organ,
    Package,
    ResponseFor,
    StatusHeader,
    StatusPackage,
)
from axis.edxml.validate import Validator
from axis.edxml.writer import build
from axis.errors import AxisError
from axis.settings import EdxmlSettings
from axis.tasks import traffic
from axis.tasks.extension import add_extension, read_extension
from axis.tasks.lifecycle import Task, TaskState
from axis.tasks.model import STATUS_FOR_EVENT, EventType, TaskEvent, TaskExtension

VALIDATOR = Validator(EdxmlSettings())
REPLY_ID = "000.00.03.H37,2026/12/10,500/STC-ĐT"


def _accept(raw: bytes) -> tuple[Package, TaskExtension]:
    """What the node has once a package is accepted: the typed package and its tasks."""
    result = VALIDATOR.check(raw)
    assert result.package is not None and result.valid, result.errors
    return result.package, read_extension(raw)


def _reply(codes: tuple[str, ...], sender: str = TAI_CHINH) -> DocumentPackage:
    raw = build(DocumentPackage(header=replace(
        assigning_document().header, sender=Organ(sender), recipients=(Organ(UBND),),
        document_id=REPLY_ID, response_for=(ResponseFor(UBND, document_id=DOC_ID),),
        response_for_task=codes)))
    package, _ = _accept(raw)
    assert isinstance(package, DocumentPackage)
    return package


def _status(sender: str, about: str, organ: str, *events: TaskEvent
            ) -> tuple[StatusPackage, TaskExtension]:
    raw = add_extension(build(StatusPackage(StatusHeader(
        Organ(sender), ResponseFor(organ, document_id=about),
        STATUS_FOR_EVENT[events[0].type], description=events[0].reason))),
        TaskExtension(events=events))
    package, ext = _accept(raw)
    assert isinstance(package, StatusPackage)
    return package, ext


def _assigned() -> dict[str, Task]:
    package, ext = _accept(assigning_package())
    assert isinstance(package, DocumentPackage)
    tasks = traffic.tasks_from_document(package, ext, accepted_at=at(12, 1))
    return {t.code: t for t in tasks}


def test_an_assigning_document_creates_its_tasks_and_delivery_marks_them_received() -> None:
    tasks = _assigned()
    assert [(t.lead.organ_id, t.office, t.document_id, t.state) for t in tasks.values()] == [
        (TAI_CHINH, UBND, DOC_ID, TaskState.ASSIGNED), (NOI_VU, UBND, DOC_ID, TaskState.ASSIGNED),
        (KE_HOACH, UBND, DOC_ID, TaskState.ASSIGNED)]
    received = traffic.on_delivered(tuple(tasks.values()), NOI_VU, at(12, 1, 10))
    assert [(t.lead.organ_id, t.state, t.received_at) for t in received] == [
        (NOI_VU, TaskState.RECEIVED, at(12, 1, 10))]


def test_reply_then_the_offices_approval_completes_at_the_replys_acceptance() -> None:
    tasks = _assigned()
    first = entries()[0].code
    replied, = traffic.on_reply(tasks, _reply((first,)), at(12, 10, 14, 5))
    assert replied.task is not None and replied.task.state is TaskState.AWAITING_APPROVAL
    tasks[first] = replied.task
    status, ext = _status(UBND, REPLY_ID, TAI_CHINH,
                          TaskEvent(first, EventType.COMPLETION_APPROVED))
    approved, = traffic.on_status(tasks, status, ext, at(12, 12))
    assert approved.task is not None and approved.task.state is TaskState.COMPLETED
    assert approved.task.completed_at == at(12, 10, 14, 5)


def test_refusals_and_unknown_tasks_are_outcomes_not_exceptions() -> None:
    tasks = _assigned()
    first, second = entries()[0].code, entries()[1].code
    # Sở Tài chính answers its own task and, wrongly, Sở Nội vụ's; and a code nobody knows.
    outcomes = traffic.on_reply(tasks, _reply((first, second, "H37-NONE")), at(12, 10))
    assert [o.changed for o in outcomes] == [True, False, False]
    assert [o.error.code for o in outcomes if o.error] == [
        errors.TASK_ACTOR_NOT_ALLOWED, errors.TASK_UNKNOWN]
    # An extension asked after the deadline (15 Dec): refused, the task stays overdue.
    status, ext = _status(TAI_CHINH, DOC_ID, UBND, TaskEvent(
        first, EventType.EXTENSION_REQUESTED, new_deadline=date(2026, 12, 31),
        documents=("000.00.03.H37,2026/12/16,9/STC",)))
    late, = traffic.on_status(tasks, status, ext, at(12, 16, 8))
    assert late.error is not None and late.error.code is errors.TASK_EXTENSION_LATE


def test_several_events_in_one_status_apply_in_order() -> None:
    tasks = _assigned()
    third = entries()[2].code  # lead Sở Kế hoạch, supporting Tài chính and Nội vụ
    status, ext = _status(KE_HOACH, DOC_ID, UBND,
                          TaskEvent(third, EventType.RECEIVED),
                          TaskEvent(third, EventType.EXTENSION_REQUESTED,
                                    documents=("000.00.04.H37,2026/12/05,7/SKH",)))
    received, requested = traffic.on_status(tasks, status, ext, at(12, 5))
    assert received.task is not None and received.task.received_at == at(12, 5)
    assert requested.task is not None and requested.task.state is TaskState.RECEIVED
    assert requested.task.pending_extension is not None
    support, ext = _status(TAI_CHINH, "000.00.04.H37,2026/12/03,6/SKH", KE_HOACH, TaskEvent(
        third, EventType.SUPPORT_REFUSED, reason="Không thuộc thẩm quyền"))
    refused, = traffic.on_status(tasks, support, ext, at(12, 6))
    assert refused.task is not None and refused.task.support_refusals[0].agency == TAI_CHINH


def test_a_lead_that_is_not_a_recipient_is_refused() -> None:
    package, ext = _accept(add_extension(build(assigning_document((TAI_CHINH, NOI_VU))),
                                         TaskExtension(tasks=entries())))
    assert isinstance(package, DocumentPackage)
    assert [f.detail for f in traffic.check_against_document(package, ext)] == [
        f"task {entries()[2].code}: lead {KE_HOACH} is not a recipient (To)"]
    with pytest.raises(AxisError) as err:
        traffic.tasks_from_document(package, ext, accepted_at=at(12, 1))
    assert err.value.code is errors.TASK_EXTENSION_INVALID
