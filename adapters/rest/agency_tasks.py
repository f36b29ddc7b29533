"""The agency API's tasks (issue 12, item 3): an agency system lists its own tasks, those
it leads or supports, and reads one with its documents and history.

    GET /v1/tasks                 filters: state, deadlineFrom, deadlineTo, offset, limit
    GET /v1/tasks/{code}          one of the caller's tasks (another's: 404 task.unknown)

Authenticated like every agency route (adapters/rest/auth.py); the operations are
axis/app/tasks.py. Task events themselves travel as status packages (sendEdoc).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from adapters.rest.auth import SECURITY, Authenticated, authenticated
from adapters.rest.errors import responses
from adapters.rest.task_models import (
    TaskDetailOut,
    TaskListOut,
    task_detail_out,
    task_list_out,
)
from axis.app.tasks import TaskOperations
from axis.tasks.lifecycle import TaskState
from axis.tasks.ports import MAX_LIST, TaskFilter

Caller = Annotated[Authenticated, Depends(authenticated)]
CODE = r"^[A-Za-z0-9][A-Za-z0-9._/:\-]{0,63}$"  # the extension's TaskCode
AUTH_ERRORS = (401, 403, 413, 422, 429, 500, 503)


def router(ops: TaskOperations) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["agency"], dependencies=[Depends(authenticated)])
    extra: dict[str, Any] = {"security": SECURITY}

    @api.get("/tasks", response_model=TaskListOut, responses=responses(*AUTH_ERRORS),
             openapi_extra=extra)
    def list_tasks(
        request: Request, auth: Caller,
        state: Annotated[TaskState | None, Query()] = None,
        deadlineFrom: Annotated[date | None, Query()] = None,
        deadlineTo: Annotated[date | None, Query()] = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
    ) -> TaskListOut:
        """The caller's own tasks (lead or supporting), by deadline."""
        page = ops.list_own(auth.caller.agency_id, TaskFilter(
            state=state, deadline_from=deadlineFrom, deadline_to=deadlineTo,
            offset=offset, limit=limit))
        return task_list_out(page, ops.clock.now())

    @api.get("/tasks/{code:path}", response_model=TaskDetailOut,
             responses=responses(404, *AUTH_ERRORS), openapi_extra=extra)
    def get_task(
        request: Request, auth: Caller,
        code: Annotated[str, Path(pattern=CODE)],
    ) -> TaskDetailOut:
        """One of the caller's tasks with its documents and history."""
        return task_detail_out(ops.get_own(auth.caller.agency_id, code), ops.clock.now())

    return api

