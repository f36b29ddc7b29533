"""The task operations (issue 12, item 3), once for every edge: the admin API and the
console for the Office and the node's staff, the agency API for an agency's own tasks.

Reads: list and filter (agency, state, deadline window, officer), one task with its
documents and history. The Office's actions: approve or refuse completion (13.3.c),
approve an extension with the approving document and the new deadline, or refuse it
(13.5), correct a task's description (13.3.a). The Office acts here through a person
(an administrator token holding the `office` capability): the lifecycle sees the task's
Office as the actor, and the person (`by`) and the reason are journaled with the change.
A refused action is journaled too (`task.refused`), in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from axis import errors
from axis.calendar import WorkCalendar
from axis.clock import Clock
from axis.errors import AxisError
from axis.tasks import deadlines, lifecycle, records
from axis.tasks.lifecycle import Action, Task
from axis.tasks.ports import HistoryEntry, TaskFilter, TaskStore


@dataclass(frozen=True, slots=True)
class TaskPage:
    items: tuple[Task, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class DocumentLink:
    """A document a task relies on, and why (the assigning document, a reply, …)."""

    document_id: str
    role: str  # assigning | reply | extension-request | extension-approval | reminder …
    at: str = ""


@dataclass(frozen=True, slots=True)
class TaskView:
    task: Task
    history: tuple[HistoryEntry, ...]
    documents: tuple[DocumentLink, ...]
    overdue: bool
    working_days_left: int


_ROLE_OF = {
    Action.ASSIGNED: "assigning", Action.REPLIED: "reply",
    Action.EXTENSION_REQUESTED: "extension-request",
    Action.EXTENSION_APPROVED: "extension-approval",
    Action.EXTENSION_REFUSED: "extension-refusal", Action.RETURNED: "return",
    Action.SUPPORT_REFUSED: "support-refusal",
}


@dataclass(slots=True)
class TaskOperations:
    store: TaskStore
    clock: Clock
    calendar: WorkCalendar

    # --- reads --------------------------------------------------------------------
    def list(self, f: TaskFilter) -> TaskPage:
        with self.store.reading() as tx:
            return TaskPage(tuple(tx.find(f)), tx.count(f), f.offset, f.limit)

    def get(self, code: str) -> TaskView:
        with self.store.reading() as tx:
            found = tx.task(code)
            if found is None:
                raise errors.TASK_UNKNOWN.error(code)
            history = tuple(tx.history(code))
            reminders = tx.reminders_of(code)
        task = found.task
        docs = [DocumentLink(task.document_id, "assigning", task.assigned_at.isoformat())]
        for h in history:
            role = _ROLE_OF.get(h.step.action)
            if h.step.document_id and role and h.step.action is not Action.ASSIGNED:
                docs.append(DocumentLink(h.step.document_id, role, h.step.at.isoformat()))
        docs += [DocumentLink(doc, "reminder", sent.isoformat())
                 for _, sent, doc in reminders if doc]
        now = self.clock.now()
        return TaskView(task, history, tuple(docs), deadlines.is_overdue(task, now),
                        deadlines.working_days_left(now.date(), task.deadline,
                                                    self.calendar))

    def list_own(self, agency_id: str, f: TaskFilter) -> TaskPage:
        """An agency system's own tasks: those it leads or supports."""
        return self.list(replace(f, agency=agency_id))

    def get_own(self, agency_id: str, code: str) -> TaskView:
        """One of the agency's own tasks; another agency's is `task.unknown` (404), so
        nobody learns which codes exist."""
        view = self.get(code)
        t = view.task
        if agency_id not in {t.lead.organ_id, t.office, *(s.organ_id for s in t.supporting)}:
            raise errors.TASK_UNKNOWN.error(code)
        return view

    # --- the Office ---------------------------------------------------------------
    def approve_completion(self, code: str, *, by: str, reason: str,
                           document_id: str = "") -> Task:
        return self._act(code, by, reason, Action.COMPLETION_APPROVED, lambda t, at: (
            lifecycle.approve_completion(t, actor=t.office, at=at, document_id=document_id)))

    def refuse_completion(self, code: str, *, by: str, reason: str,
                          document_id: str = "") -> Task:
        return self._act(code, by, reason, Action.COMPLETION_REFUSED, lambda t, at: (
            lifecycle.refuse_completion(t, actor=t.office, at=at, reason=reason,
                                        document_id=document_id)))

    def approve_extension(self, code: str, *, by: str, reason: str, new_deadline: date,
                          document_id: str) -> Task:
        """`document_id`: the approving document (13.5), required."""
        return self._act(code, by, reason, Action.EXTENSION_APPROVED, lambda t, at: (
            lifecycle.approve_extension(t, actor=t.office, at=at, new_deadline=new_deadline,
                                        document_id=document_id)))

    def refuse_extension(self, code: str, *, by: str, reason: str,
                         document_id: str = "") -> Task:
        return self._act(code, by, reason, Action.EXTENSION_REFUSED, lambda t, at: (
            lifecycle.refuse_extension(t, actor=t.office, at=at, reason=reason,
                                       document_id=document_id)))

    def correct(self, code: str, *, by: str, reason: str, content: str) -> Task:
        return self._act(code, by, reason, Action.CORRECTED, lambda t, at: (
            lifecycle.correct(t, actor=t.office, at=at, content=content)))

    def _act(self, code: str, by: str, reason: str, action: Action,
             step: Callable[[Task, datetime], Task]) -> Task:
        if not reason.strip():
            raise errors.API_INVALID_REQUEST.error("reason: say why (it is journaled)")
        now = self.clock.now()
        try:
            with self.store.transaction() as tx:
                found = tx.task(code, for_update=True)
                if found is None:
                    raise errors.TASK_UNKNOWN.error(code)
                new = step(found.task, now)
                return records.changed(tx, found, new, now=now, by=by, note=reason).task
        except AxisError as exc:
            if exc.code.id.startswith("task."):
                with self.store.transaction() as tx:
                    records.refused(tx, code, exc, now=now, actor="office", by=by,
                                    event=action.value, note=reason)
            raise
