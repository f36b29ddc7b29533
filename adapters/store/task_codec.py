"""A task value (axis/tasks/lifecycle.py) as the canonical JSON of its `tasks.record`
column, and back. The history is not in it: it has rows of its own (`task_history`)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from axis.clock import as_vietnam
from axis.tasks.lifecycle import (
    DeadlineChange,
    ExtensionRequest,
    Reply,
    SupportRefusal,
    Task,
    TaskState,
)
from axis.tasks.model import Agency, Officer


def _t(v: datetime | None) -> str | None:
    return as_vietnam(v).isoformat(timespec="microseconds") if v is not None else None


def _pt(v: Any) -> datetime | None:
    return as_vietnam(datetime.fromisoformat(v)) if v else None


def _d(v: date | None) -> str | None:
    return v.isoformat() if v is not None else None


def _pd(v: Any) -> date | None:
    return date.fromisoformat(v) if v else None


def _agency(a: Agency) -> dict[str, str]:
    return {"organ_id": a.organ_id, "name": a.name}


def _reply(r: Reply) -> dict[str, Any]:
    return {"document_id": r.document_id, "accepted_at": _t(r.accepted_at)}


def _read_reply(v: dict[str, Any]) -> Reply:
    at = _pt(v["accepted_at"])
    assert at is not None
    return Reply(v["document_id"], at)


def dumps(task: Task) -> str:
    f = task.follower
    ext = task.pending_extension
    record: dict[str, Any] = {
        "code": task.code, "document_id": task.document_id, "office": task.office,
        "content": task.content, "lead": _agency(task.lead),
        "follower": {"name": f.name, "staff_id": f.staff_id, "department": f.department,
                     "email": f.email, "telephone": f.telephone},
        "original_deadline": _d(task.original_deadline), "deadline": _d(task.deadline),
        "state": task.state.value, "assigned_at": _t(task.assigned_at),
        "supporting": [_agency(a) for a in task.supporting],
        "received_at": _t(task.received_at),
        "reply": _reply(task.reply) if task.reply else None,
        "completed_at": _t(task.completed_at),
        "replies": [_reply(r) for r in task.replies],
        "pending_extension": None if ext is None else {
            "requested_at": _t(ext.requested_at), "document_id": ext.document_id,
            "asked_deadline": _d(ext.asked_deadline), "reason": ext.reason},
        "deadline_changes": [
            {"at": _t(c.at), "previous": _d(c.previous), "new": _d(c.new),
             "document_id": c.document_id} for c in task.deadline_changes],
        "support_refusals": [
            {"agency": s.agency, "reason": s.reason, "at": _t(s.at),
             "document_id": s.document_id} for s in task.support_refusals],
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def loads(text: str) -> Task:
    """The task without its history (the caller adds it from `task_history`)."""
    v = json.loads(text)
    ext = v.get("pending_extension")
    assigned, original, deadline = _pt(v["assigned_at"]), _pd(v["original_deadline"]), _pd(
        v["deadline"])
    assert assigned is not None and original is not None and deadline is not None
    task = Task(
        code=v["code"], document_id=v["document_id"], office=v["office"],
        content=v["content"], lead=Agency(**v["lead"]), follower=Officer(**v["follower"]),
        original_deadline=original, deadline=deadline, state=TaskState(v["state"]),
        assigned_at=assigned,
        supporting=tuple(Agency(**a) for a in v["supporting"]),
        received_at=_pt(v["received_at"]),
        reply=_read_reply(v["reply"]) if v["reply"] else None,
        completed_at=_pt(v["completed_at"]),
        replies=tuple(_read_reply(r) for r in v["replies"]),
        deadline_changes=tuple(
            DeadlineChange(_at(c["at"]), _day(c["previous"]), _day(c["new"]),
                           c["document_id"]) for c in v["deadline_changes"]),
        support_refusals=tuple(
            SupportRefusal(s["agency"], s["reason"], _at(s["at"]), s["document_id"])
            for s in v["support_refusals"]),
    )
    if ext:
        task = replace(task, pending_extension=ExtensionRequest(
            _at(ext["requested_at"]), ext["document_id"], _pd(ext["asked_deadline"]),
            ext["reason"]))
    return task


def _at(v: Any) -> datetime:
    out = _pt(v)
    assert out is not None
    return out


def _day(v: Any) -> date:
    out = _pd(v)
    assert out is not None
    return out
