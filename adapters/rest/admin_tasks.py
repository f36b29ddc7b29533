"""Tasks in the admin API (issue 12, item 3): the Office and the node's staff.

    GET  /admin/v1/tasks                          viewer: list and filter
    GET  /admin/v1/tasks/{code}                   viewer: one task, documents, history
    POST /admin/v1/tasks/{code}/approve-completion   office (Art. 13.3.c)
    POST /admin/v1/tasks/{code}/refuse-completion    office (13.3.c: the work restarts)
    POST /admin/v1/tasks/{code}/approve-extension    office (13.5: new deadline, the
                                                     approving document)
    POST /admin/v1/tasks/{code}/refuse-extension     office
    POST /admin/v1/tasks/{code}/correct              office (13.3.a: the description)

Every action names its reason (body) and is journaled with the token's name and it
(axis/app/tasks.py). Roles: axis/auth/roles.py (`office`: the Committee's Office's
decisions, not the operator's).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Security
from fastapi.security import HTTPBearer
from pydantic import Field

from adapters.node import Node
from adapters.rest.admin import SEARCH, VIEWER, ReasonIn, Who, _responses
from adapters.rest.admin_auth import admin_route_class, role
from adapters.rest.agency_tasks import CODE
from adapters.rest.task_models import (
    TaskDetailOut,
    TaskListOut,
    TaskOut,
    task_detail_out,
    task_list_out,
    task_out,
)
from axis.app.tasks import TaskOperations
from axis.settings import Settings
from axis.tasks.lifecycle import TaskState
from axis.tasks.ports import MAX_LIST, TaskFilter

OFFICE = role("office")
Code = Annotated[str, Path(pattern=CODE)]


class JudgeIn(ReasonIn):
    document_id: str = Field(default="", max_length=500,
                             description="the document the decision relies on (optional)")


class ExtensionIn(ReasonIn):
    new_deadline: date
    document_id: str = Field(min_length=1, max_length=500,
                             description="the approving document (Art. 13.5)")


class CorrectIn(ReasonIn):
    content: str = Field(min_length=1, max_length=2000)


def router(settings: Settings, node: Node, ops: TaskOperations) -> APIRouter:
    bearer = HTTPBearer(auto_error=False, scheme_name="AdminBearer",
                        description="an administrator token (`axis admin token`)")
    r = APIRouter(prefix="/admin/v1", tags=["admin", "tasks"],
                  dependencies=[Security(bearer)],
                  route_class=admin_route_class(lambda: settings.admin.tokens, node.access))

    @r.get("/tasks", openapi_extra=SEARCH, responses=_responses(422))
    def list_tasks(
        who: Who,
        agency: Annotated[str | None, Query(max_length=64)] = None,
        lead: Annotated[str | None, Query(max_length=64)] = None,
        state: Annotated[TaskState | None, Query()] = None,
        deadline_from: Annotated[date | None, Query()] = None,
        deadline_to: Annotated[date | None, Query()] = None,
        officer: Annotated[str | None, Query(max_length=200)] = None,
        document_id: Annotated[str | None, Query(max_length=500)] = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
    ) -> TaskListOut:
        """Tasks by deadline; `agency` matches the lead or a supporting agency."""
        page = ops.list(TaskFilter(agency=agency, lead=lead, state=state,
                                   deadline_from=deadline_from, deadline_to=deadline_to,
                                   officer=officer, document_id=document_id,
                                   offset=offset, limit=limit))
        return task_list_out(page, ops.clock.now())

    @r.get("/tasks/{code:path}", openapi_extra=VIEWER, responses=_responses(404, 422))
    def get_task(code: Code, who: Who) -> TaskDetailOut:
        return task_detail_out(ops.get(code), ops.clock.now())

    @r.post("/tasks/{code:path}/approve-completion", openapi_extra=OFFICE,
            responses=_responses(404, 409, 422))
    def approve_completion(code: Code, body: JudgeIn, who: Who) -> TaskOut:
        """Completes the task; its completion time is the reply's acceptance (13.4)."""
        done = ops.approve_completion(code, by=who.name, reason=body.reason,
                                      document_id=body.document_id)
        return task_out(done, ops.clock.now())

    @r.post("/tasks/{code:path}/refuse-completion", openapi_extra=OFFICE,
            responses=_responses(404, 409, 422))
    def refuse_completion(code: Code, body: JudgeIn, who: Who) -> TaskOut:
        done = ops.refuse_completion(code, by=who.name, reason=body.reason,
                                     document_id=body.document_id)
        return task_out(done, ops.clock.now())

    @r.post("/tasks/{code:path}/approve-extension", openapi_extra=OFFICE,
            responses=_responses(404, 409, 422))
    def approve_extension(code: Code, body: ExtensionIn, who: Who) -> TaskOut:
        done = ops.approve_extension(code, by=who.name, reason=body.reason,
                                     new_deadline=body.new_deadline,
                                     document_id=body.document_id)
        return task_out(done, ops.clock.now())

    @r.post("/tasks/{code:path}/refuse-extension", openapi_extra=OFFICE,
            responses=_responses(404, 409, 422))
    def refuse_extension(code: Code, body: JudgeIn, who: Who) -> TaskOut:
        done = ops.refuse_extension(code, by=who.name, reason=body.reason,
                                    document_id=body.document_id)
        return task_out(done, ops.clock.now())

    @r.post("/tasks/{code:path}/correct", openapi_extra=OFFICE,
            responses=_responses(404, 409, 422))
    def correct(code: Code, body: CorrectIn, who: Who) -> TaskOut:
        done = ops.correct(code, by=who.name, reason=body.reason, content=body.content)
        return task_out(done, ops.clock.now())

    return r
