"""JSON answers about tasks (issue 12), shared by the agency API (/v1/tasks) and the admin
API (/admin/v1/tasks): times ISO 8601 in +07:00, deadlines as ISO dates."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from axis.app.tasks import TaskPage, TaskView
from axis.clock import iso
from axis.tasks import deadlines
from axis.tasks.lifecycle import Reply, Task
from axis.tasks.model import Agency


class AgencyRef(BaseModel):
    organ_id: str
    name: str = ""


class OfficerOut(BaseModel):
    name: str
    staff_id: str = ""
    department: str = ""
    email: str = ""
    telephone: str = ""


class ReplyOut(BaseModel):
    document_id: str
    accepted_at: str = Field(description="when the node accepted it (Art. 13.4)")


class ExtensionOut(BaseModel):
    requested_at: str
    document_id: str = Field(description="the extension-request document (Art. 13.5)")
    asked_deadline: date | None
    reason: str


class DeadlineChangeOut(BaseModel):
    at: str
    previous: date
    new: date
    document_id: str = Field(description="the approving document (Art. 13.5)")


class SupportRefusalOut(BaseModel):
    agency: str
    reason: str
    at: str
    document_id: str


class TaskOut(BaseModel):
    code: str
    document_id: str = Field(description="the assigning document")
    office: str = Field(description="the Office that follows the task (its issuer)")
    content: str
    lead: AgencyRef
    supporting: list[AgencyRef]
    follower: OfficerOut
    original_deadline: date
    deadline: date = Field(description="the deadline in force")
    state: str = Field(description="assigned, received, awaiting_approval, completed, "
                                   "returned")
    overdue: bool
    assigned_at: str
    received_at: str | None
    completed_at: str | None = Field(description="the approved reply's acceptance (13.4)")
    reply: ReplyOut | None
    replies: list[ReplyOut]
    pending_extension: ExtensionOut | None
    deadline_changes: list[DeadlineChangeOut]
    support_refusals: list[SupportRefusalOut]


class TaskListOut(BaseModel):
    total: int
    offset: int
    limit: int
    tasks: list[TaskOut]


class StepOut(BaseModel):
    at: str
    action: str
    actor: str
    by: str = Field(description="the person who acted for the Office (admin API)")
    before: str | None
    after: str
    document_id: str
    reason: str
    deadline: date | None
    journal_seq: int | None


class DocumentOut(BaseModel):
    document_id: str
    role: str
    at: str


class TaskDetailOut(BaseModel):
    task: TaskOut
    working_days_left: int = Field(description="negative once overdue (office calendar)")
    documents: list[DocumentOut]
    history: list[StepOut]


def _agency(a: Agency) -> AgencyRef:
    return AgencyRef(organ_id=a.organ_id, name=a.name)


def _reply(r: Reply) -> ReplyOut:
    return ReplyOut(document_id=r.document_id, accepted_at=iso(r.accepted_at))


def _opt(at: datetime | None) -> str | None:
    return iso(at) if at is not None else None


def task_out(t: Task, now: datetime) -> TaskOut:
    f, ext = t.follower, t.pending_extension
    return TaskOut(
        code=t.code, document_id=t.document_id, office=t.office, content=t.content,
        lead=_agency(t.lead), supporting=[_agency(a) for a in t.supporting],
        follower=OfficerOut(name=f.name, staff_id=f.staff_id, department=f.department,
                            email=f.email, telephone=f.telephone),
        original_deadline=t.original_deadline, deadline=t.deadline, state=t.state.value,
        overdue=deadlines.is_overdue(t, now), assigned_at=iso(t.assigned_at),
        received_at=_opt(t.received_at), completed_at=_opt(t.completed_at),
        reply=_reply(t.reply) if t.reply else None, replies=[_reply(r) for r in t.replies],
        pending_extension=None if ext is None else ExtensionOut(
            requested_at=iso(ext.requested_at), document_id=ext.document_id,
            asked_deadline=ext.asked_deadline, reason=ext.reason),
        deadline_changes=[DeadlineChangeOut(at=iso(c.at), previous=c.previous, new=c.new,
                                            document_id=c.document_id)
                          for c in t.deadline_changes],
        support_refusals=[SupportRefusalOut(agency=s.agency, reason=s.reason, at=iso(s.at),
                                            document_id=s.document_id)
                          for s in t.support_refusals],
    )


def task_list_out(page: TaskPage, now: datetime) -> TaskListOut:
    return TaskListOut(total=page.total, offset=page.offset, limit=page.limit,
                       tasks=[task_out(t, now) for t in page.items])


def task_detail_out(view: TaskView, now: datetime) -> TaskDetailOut:
    return TaskDetailOut(
        task=task_out(view.task, now), working_days_left=view.working_days_left,
        documents=[DocumentOut(document_id=d.document_id, role=d.role, at=d.at)
                   for d in view.documents],
        history=[StepOut(at=iso(h.step.at), action=h.step.action.value, actor=h.step.actor,
                         by=h.by, before=h.step.before.value if h.step.before else None,
                         after=h.step.after.value, document_id=h.step.document_id,
                         reason=h.step.reason, deadline=h.step.deadline,
                         journal_seq=h.journal_seq) for h in view.history])
