"""Writing what the lifecycle decided: a task's rows, one `task.<action>` journal entry per
transition (with the history row pointing at it), or a `task.refused` entry for what was
refused. Shared by the tracker (traffic) and the Office's operations (axis/app/tasks.py),
always inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from axis.clock import iso
from axis.errors import AxisError
from axis.tasks.lifecycle import Task, Transition
from axis.tasks.ports import TaskTx, Versioned

REFUSED = "task.refused"


def _payload(task: Task, step: Transition, by: str, source: int | None,
             note: str) -> dict[str, object]:
    return {
        "action": step.action.value, "at": iso(step.at), "actor": step.actor, "by": by,
        "note": note,
        "before": step.before.value if step.before else None, "after": step.after.value,
        "document_id": step.document_id, "reason": step.reason,
        "deadline": step.deadline.isoformat() if step.deadline else None,
        "task_document": task.document_id, "source": source,
    }


def _journal(tx: TaskTx, task: Task, steps: tuple[Transition, ...], *, now: datetime,
             by: str, source: int | None, note: str = "") -> None:
    seqs: list[int | None] = []
    for step in steps:
        entry = tx.route.append_journal(now, f"task.{step.action.value}", task.code,
                                        _payload(task, step, by, source, note))
        seqs.append(entry.seq)
    tx.add_history(task.code, steps, by=by, journal_seqs=seqs)


def created(tx: TaskTx, task: Task, *, now: datetime, source: int | None = None) -> bool:
    """A new task (its `assigned` transition); False when its code is taken (nothing
    written: the caller journals the refusal)."""
    if not tx.add_task(task):
        return False
    _journal(tx, task, task.history, now=now, by="", source=source)
    return True


def changed(tx: TaskTx, old: Versioned, new: Task, *, now: datetime, by: str = "",
            source: int | None = None, note: str = "") -> Versioned:
    """Store `new` over `old` (a version conflict raises `store.conflict`) and journal
    each transition it added; unchanged when it added none. `by` and `note`: the person
    who acted for the Office through the admin API, and why (every Office action is
    journaled with both); `source`: the journal entry of the traffic that caused it."""
    steps = new.history[len(old.task.history):]
    if not steps:
        return old
    version = tx.save_task(new, old.version)
    _journal(tx, new, steps, now=now, by=by, source=source, note=note)
    return Versioned(new, version)


def refused(tx: TaskTx, code: str, error: AxisError, *, now: datetime, actor: str,
            event: str, source: int | None = None, by: str = "", note: str = "") -> None:
    """What the lifecycle refused is evidence too (an extension asked too late, 13.5)."""
    tx.route.append_journal(now, REFUSED, code, {
        "code": error.code.id, "detail": error.detail, "actor": actor, "by": by,
        "note": note,
        "event": event, "source": source})
