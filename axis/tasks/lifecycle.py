"""The one owner of a task's states (Art. 13.3-13.5, 14.4.b): pure functions over frozen
values, the time injected, every change recorded as a `Transition`.

    assigned ──receive──▶ received ──reply──▶ awaiting_approval ──approve──▶ completed
       │                     ▲  │                   │  ▲
       │                     │  └─return─▶ returned │  └─reply (a newer reply replaces it)
       └─reply / return──────┼──────────────────────┘
                             └──────── refuse completion (13.3.c: the work restarts)

Extensions (13.5) and support refusals (14.4.b) do not change the state: a request is
accepted only up to the end of the current deadline's day, then waits for the Office,
whose approval sets the new deadline and keeps the old one in `deadline_changes`.

Completion time (13.4) is the time the node ACCEPTED the reply that the Office approves:
the node's signed receipt is the evidence, and no party can move it. A task finished
outside this flow has no accepted reply, so it stays not completed.

Who may act: the lead agency receives, returns, replies and asks for an extension; the
Office (the assigning document's issuer) approves or refuses completion and extensions
and corrects the description; a supporting agency refuses support. Anything else is a
typed error (`task.*` in axis/errors.py) and the task is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import Enum

from axis import errors
from axis.clock import VN_TZ, as_vietnam
from axis.tasks.model import Agency, EventType, Officer, TaskEntry, TaskEvent


class TaskState(str, Enum):
    ASSIGNED = "assigned"  # đã giao
    RECEIVED = "received"  # đã nhận
    AWAITING_APPROVAL = "awaiting_approval"  # đã có kết quả, chờ phê duyệt (13.3.c)
    COMPLETED = "completed"  # hoàn thành
    RETURNED = "returned"  # trả lại Văn phòng UBND tỉnh (giao nhầm, 13.3.a)


OPEN_STATES = frozenset({TaskState.ASSIGNED, TaskState.RECEIVED, TaskState.AWAITING_APPROVAL})


class Action(str, Enum):
    """What a transition did; the journal and the console show these."""

    ASSIGNED = "assigned"
    RECEIVED = "received"
    REPLIED = "replied"
    COMPLETION_APPROVED = "completion-approved"
    COMPLETION_REFUSED = "completion-refused"
    RETURNED = "returned"
    EXTENSION_REQUESTED = "extension-requested"
    EXTENSION_APPROVED = "extension-approved"
    EXTENSION_REFUSED = "extension-refused"
    SUPPORT_REFUSED = "support-refused"
    CORRECTED = "corrected"


@dataclass(frozen=True, slots=True)
class Transition:
    """One entry of a task's history. `deadline`: asked for or granted (extensions)."""

    at: datetime
    action: Action
    actor: str
    before: TaskState | None
    after: TaskState
    document_id: str = ""
    reason: str = ""
    deadline: date | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply document linked to the task (13.3.b), at the node's acceptance time."""

    document_id: str
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class ExtensionRequest:
    requested_at: datetime
    document_id: str  # the extension-request document, a flow of its own (13.5)
    asked_deadline: date | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeadlineChange:
    at: datetime
    previous: date
    new: date
    document_id: str  # the approving document (13.5)


@dataclass(frozen=True, slots=True)
class SupportRefusal:
    agency: str
    reason: str
    at: datetime
    document_id: str = ""


@dataclass(frozen=True, slots=True)
class Task:
    """The node's record of one task; change it only through this module's functions."""

    code: str
    document_id: str  # the assigning document
    office: str  # its issuer: the Office that follows the task
    content: str
    lead: Agency
    follower: Officer
    original_deadline: date
    deadline: date  # the one in force: original, or the last approved extension
    state: TaskState
    assigned_at: datetime
    supporting: tuple[Agency, ...] = ()
    received_at: datetime | None = None
    reply: Reply | None = None  # the reply awaiting approval, or the approved one
    completed_at: datetime | None = None
    replies: tuple[Reply, ...] = ()  # every reply, refused ones included
    pending_extension: ExtensionRequest | None = None
    deadline_changes: tuple[DeadlineChange, ...] = ()
    support_refusals: tuple[SupportRefusal, ...] = ()
    history: tuple[Transition, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def deadline_end(deadline: date) -> datetime:
    """The first instant after a deadline: the whole deadline day counts, Vietnam time."""
    return datetime.combine(deadline + timedelta(days=1), time(0), VN_TZ)


# --- creation -----------------------------------------------------------------------------


def assign(entry: TaskEntry, *, document_id: str, office: str, at: datetime) -> Task:
    """The task exists once the node has accepted its assigning document."""
    at = as_vietnam(at)
    return Task(
        code=entry.code, document_id=document_id, office=office, content=entry.content,
        lead=entry.lead, follower=entry.follower, original_deadline=entry.deadline,
        deadline=entry.deadline, state=TaskState.ASSIGNED, assigned_at=at,
        supporting=entry.supporting,
        history=(Transition(at, Action.ASSIGNED, office, None, TaskState.ASSIGNED,
                            document_id=document_id, deadline=entry.deadline),),
    )


# --- the lead agency ----------------------------------------------------------------------


def receive(task: Task, *, actor: str, at: datetime) -> Task:
    """Delivered to the lead, or its `received` event. Idempotent: a task already past
    `assigned` is returned unchanged (delivery and the event may both report it, a
    reply may come first)."""
    _lead(task, actor)
    if task.state is not TaskState.ASSIGNED:
        return task
    at = as_vietnam(at)
    return _move(replace(task, received_at=at), at, Action.RECEIVED, actor, TaskState.RECEIVED)


def reply(task: Task, *, actor: str, document_id: str, at: datetime) -> Task:
    """A reply document naming the task, accepted by the node at `at` (13.3.b, 13.4).

    A newer reply while one awaits approval replaces it: the Office judges the latest.
    """
    _lead(task, actor)
    _open(task, Action.REPLIED)
    _need(document_id, "a reply needs its DocumentId")
    at = as_vietnam(at)
    answer = Reply(document_id, at)
    return _move(
        replace(task, reply=answer, replies=(*task.replies, answer),
                received_at=task.received_at or at),
        at, Action.REPLIED, actor, TaskState.AWAITING_APPROVAL, document_id=document_id)


def return_to_office(task: Task, *, actor: str, at: datetime, reason: str,
                     document_id: str = "") -> Task:
    """Returned to the Office as assigned to the wrong agency (13.3.a)."""
    _lead(task, actor)
    if task.state not in (TaskState.ASSIGNED, TaskState.RECEIVED):
        raise _invalid(task, Action.RETURNED)
    _reason(reason, Action.RETURNED)
    at = as_vietnam(at)
    return _move(replace(task, pending_extension=None), at, Action.RETURNED, actor,
                 TaskState.RETURNED, document_id=document_id, reason=reason)


def request_extension(task: Task, *, actor: str, at: datetime, document_id: str,
                      asked_deadline: date | None = None, reason: str = "") -> Task:
    """Asked within the current deadline, with the extension-request document (13.5).

    After the end of the deadline's day: `task.extension_late`, and the task stays as it
    is, which the reports count as "not completed, overdue".
    """
    _lead(task, actor)
    if task.state not in (TaskState.ASSIGNED, TaskState.RECEIVED):
        raise _invalid(task, Action.EXTENSION_REQUESTED)
    if task.pending_extension is not None:
        raise _invalid(task, Action.EXTENSION_REQUESTED, "an earlier request is still pending")
    _need(document_id, "an extension request needs the extension-request document (13.5)")
    at = as_vietnam(at)
    if at >= deadline_end(task.deadline):
        raise errors.TASK_EXTENSION_LATE.error(
            f"task {task.code}: asked at {at.isoformat()}, deadline {task.deadline}")
    request = ExtensionRequest(at, document_id, asked_deadline, reason)
    return _move(replace(task, pending_extension=request), at, Action.EXTENSION_REQUESTED,
                 actor, task.state, document_id=document_id, reason=reason,
                 deadline=asked_deadline)


# --- the Office ---------------------------------------------------------------------------


def approve_completion(task: Task, *, actor: str, at: datetime, document_id: str = "") -> Task:
    """Completes the task; its completion time is the approved reply's acceptance time.

    `document_id`, when given, must be the reply awaiting approval (the Office judges
    that reply, not an older one).
    """
    _office(task, actor)
    if task.state is not TaskState.AWAITING_APPROVAL or task.reply is None:
        raise _invalid(task, Action.COMPLETION_APPROVED)
    _same_reply(task, document_id, Action.COMPLETION_APPROVED)
    at = as_vietnam(at)
    return _move(replace(task, completed_at=task.reply.accepted_at, pending_extension=None),
                 at, Action.COMPLETION_APPROVED, actor, TaskState.COMPLETED,
                 document_id=task.reply.document_id)


def refuse_completion(task: Task, *, actor: str, at: datetime, reason: str = "",
                      document_id: str = "") -> Task:
    """Not approved: the work restarts (13.3.c); the refused reply stays in `replies`."""
    _office(task, actor)
    if task.state is not TaskState.AWAITING_APPROVAL or task.reply is None:
        raise _invalid(task, Action.COMPLETION_REFUSED)
    _same_reply(task, document_id, Action.COMPLETION_REFUSED)
    at = as_vietnam(at)
    refused = task.reply.document_id
    return _move(replace(task, reply=None), at, Action.COMPLETION_REFUSED, actor,
                 TaskState.RECEIVED, document_id=refused, reason=reason)


def approve_extension(task: Task, *, actor: str, at: datetime, new_deadline: date,
                      document_id: str) -> Task:
    """Sets the new deadline from the approving document; the old one stays in history."""
    _office(task, actor)
    if task.pending_extension is None or not task.is_open:
        raise _invalid(task, Action.EXTENSION_APPROVED, "no pending extension request")
    _need(document_id, "an approved extension needs the approving document (13.5)")
    if new_deadline <= task.deadline:
        raise errors.TASK_DEADLINE_INVALID.error(
            f"task {task.code}: {new_deadline} is not after {task.deadline}")
    at = as_vietnam(at)
    change = DeadlineChange(at, task.deadline, new_deadline, document_id)
    return _move(
        replace(task, deadline=new_deadline, pending_extension=None,
                deadline_changes=(*task.deadline_changes, change)),
        at, Action.EXTENSION_APPROVED, actor, task.state, document_id=document_id,
        deadline=new_deadline)


def refuse_extension(task: Task, *, actor: str, at: datetime, reason: str = "",
                     document_id: str = "") -> Task:
    _office(task, actor)
    if task.pending_extension is None or not task.is_open:
        raise _invalid(task, Action.EXTENSION_REFUSED, "no pending extension request")
    at = as_vietnam(at)
    return _move(replace(task, pending_extension=None), at, Action.EXTENSION_REFUSED, actor,
                 task.state, document_id=document_id, reason=reason)


def correct(task: Task, *, actor: str, at: datetime, content: str) -> Task:
    """The Office corrects a task's description at the receiver's request (13.3.a)."""
    _office(task, actor)
    _open(task, Action.CORRECTED)
    _need(content.strip(), "a corrected description cannot be empty")
    at = as_vietnam(at)
    return _move(replace(task, content=content.strip()), at, Action.CORRECTED, actor,
                 task.state, reason=task.content)


# --- a supporting agency ------------------------------------------------------------------


def refuse_support(task: Task, *, actor: str, at: datetime, reason: str,
                   document_id: str = "") -> Task:
    """A supporting agency refuses support in writing, with its reasons (14.4.b)."""
    if actor not in {s.organ_id for s in task.supporting}:
        raise errors.TASK_ACTOR_NOT_ALLOWED.error(
            f"{actor} is not a supporting agency of task {task.code}")
    _open(task, Action.SUPPORT_REFUSED)
    if any(r.agency == actor for r in task.support_refusals):
        raise _invalid(task, Action.SUPPORT_REFUSED, f"{actor} already refused")
    _reason(reason, Action.SUPPORT_REFUSED)
    at = as_vietnam(at)
    refusal = SupportRefusal(actor, reason, at, document_id)
    return _move(replace(task, support_refusals=(*task.support_refusals, refusal)), at,
                 Action.SUPPORT_REFUSED, actor, task.state, document_id=document_id,
                 reason=reason)


# --- events from the wire -----------------------------------------------------------------


def apply_event(task: Task, event: TaskEvent, *, actor: str, at: datetime,
                status_document_id: str = "") -> Task:
    """A task event from a status package (docs/tasks.md), sent by `actor`, accepted by
    the node at `at`. `status_document_id`: the DocumentId the status is about
    (ResponseFor), used where the event names no document of its own."""
    if event.task_code != task.code:
        raise errors.TASK_UNKNOWN.error(f"event for {event.task_code}, task is {task.code}")
    doc = event.documents[0] if event.documents else status_document_id
    match event.type:
        case EventType.RECEIVED:
            return receive(task, actor=actor, at=at)
        case EventType.RETURNED:
            return return_to_office(task, actor=actor, at=at, reason=event.reason,
                                    document_id=doc)
        case EventType.EXTENSION_REQUESTED:
            return request_extension(task, actor=actor, at=at, document_id=doc,
                                     asked_deadline=event.new_deadline, reason=event.reason)
        case EventType.EXTENSION_APPROVED:
            if event.new_deadline is None:
                raise errors.TASK_EXTENSION_INVALID.error("extension-approved: no NewDeadline")
            return approve_extension(task, actor=actor, at=at, new_deadline=event.new_deadline,
                                     document_id=doc)
        case EventType.EXTENSION_REFUSED:
            return refuse_extension(task, actor=actor, at=at, reason=event.reason,
                                    document_id=doc)
        case EventType.COMPLETION_APPROVED:
            return approve_completion(task, actor=actor, at=at,
                                      document_id=_reply_named(event, status_document_id))
        case EventType.COMPLETION_REFUSED:
            return refuse_completion(task, actor=actor, at=at, reason=event.reason,
                                     document_id=_reply_named(event, status_document_id))
        case EventType.SUPPORT_REFUSED:
            return refuse_support(task, actor=actor, at=at, reason=event.reason,
                                  document_id=doc)
    raise AssertionError(event.type)  # pragma: no cover - the match is exhaustive


def _reply_named(event: TaskEvent, status_document_id: str) -> str:
    # The Office's status is about the reply document (ResponseFor); an event may also
    # name it. Either way it must be the reply awaiting approval.
    return event.documents[0] if event.documents else status_document_id


# --- helpers ------------------------------------------------------------------------------


def _move(task: Task, at: datetime, action: Action, actor: str, to: TaskState, *,
          document_id: str = "", reason: str = "", deadline: date | None = None) -> Task:
    step = Transition(at, action, actor, task.state, to, document_id, reason, deadline)
    return replace(task, state=to, history=(*task.history, step))


def _lead(task: Task, actor: str) -> None:
    if actor != task.lead.organ_id:
        raise errors.TASK_ACTOR_NOT_ALLOWED.error(
            f"{actor} is not the lead agency of task {task.code}")


def _office(task: Task, actor: str) -> None:
    if actor != task.office:
        raise errors.TASK_ACTOR_NOT_ALLOWED.error(
            f"{actor} is not the Office that assigned task {task.code}")


def _open(task: Task, action: Action) -> None:
    if not task.is_open:
        raise _invalid(task, action)


def _need(value: str, what: str) -> None:
    if not value:
        raise errors.TASK_TRANSITION_INVALID.error(what)


def _reason(reason: str, action: Action) -> None:
    if not reason.strip():
        raise errors.TASK_REASON_MISSING.error(action.value)


def _same_reply(task: Task, document_id: str, action: Action) -> None:
    assert task.reply is not None
    if document_id and document_id != task.reply.document_id:
        raise _invalid(task, action, f"{document_id} is not the reply awaiting approval "
                                     f"({task.reply.document_id})")


def _invalid(task: Task, action: Action, why: str = "") -> errors.AxisError:
    detail = f"task {task.code}: {action.value} in state {task.state.value}"
    return errors.TASK_TRANSITION_INVALID.error(f"{detail}: {why}" if why else detail)
