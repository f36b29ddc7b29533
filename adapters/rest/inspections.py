"""Inspection dates over REST (issue 12, item 6; Art. 16.4-16.5):

    GET /admin/v1/calendar/inspection?date=YYYY-MM-DD[&ends=YYYY-MM-DD]   viewer
    GET /v1/calendar/inspection?date=YYYY-MM-DD[&ends=YYYY-MM-DD]         an agency

The latest notice date (7 working days before), the agency report's due date (3 days
before; `report_due_is_working_day` says whether offices are open then) and the results'
due date (5 working days after the last day), on the node's office calendar: the same
answer as `axis calendar inspection` and the console's tasks page
(axis/app/inspections.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from adapters.node import Node
from adapters.rest.admin import VIEWER, Who, _responses
from adapters.rest.admin_auth import admin_route_class
from adapters.rest.agency_tasks import AUTH_ERRORS, Caller
from adapters.rest.auth import SECURITY, authenticated
from adapters.rest.errors import responses
from axis.app.inspections import InspectionOperations
from axis.clock import Clock, as_vietnam
from axis.settings import Settings
from axis.tasks.inspection import InspectionDates

PATH = "/calendar/inspection"


class InspectionOut(BaseModel):
    inspection: date
    ends: date
    notice_by: date = Field(description="the notice goes out by this day (Art. 16.4.a: "
                                        "7 working days before)")
    report_due: date = Field(description="the inspected agency's report (Art. 16.4.b: "
                                         "3 days before; not moved off a day off)")
    report_due_is_working_day: bool
    results_due: date = Field(description="the team's results (Art. 16.5: 5 working days "
                                          "after the last day)")


def out(d: InspectionDates) -> InspectionOut:
    return InspectionOut(inspection=d.inspection, ends=d.ends, notice_by=d.notice_by,
                         report_due=d.report_due,
                         report_due_is_working_day=d.report_due_is_working_day,
                         results_due=d.results_due)


Day = Annotated[date, Query(alias="date", description="the (first) inspection day")]
Ends = Annotated[date | None, Query(description="the last inspection day (default: date)")]


def admin_router(settings: Settings, node: Node, clock: Clock) -> APIRouter:
    ops = InspectionOperations(node.calendar)
    bearer = HTTPBearer(auto_error=False, scheme_name="AdminBearer",
                        description="an administrator token (`axis admin token`)")
    r = APIRouter(prefix="/admin/v1", tags=["admin", "tasks"],
                  dependencies=[Security(bearer)],
                  route_class=admin_route_class(lambda: settings.admin.tokens, node.access))

    @r.get(PATH, openapi_extra=VIEWER, responses=_responses(422))
    def inspection(day: Day, who: Who, ends: Ends = None) -> InspectionOut:
        """The Art. 16 dates of an inspection on the office calendar."""
        return out(ops.dates(day, ends, today=as_vietnam(clock.now()).date()))

    return r


def agency_router(node: Node, clock: Clock) -> APIRouter:
    ops = InspectionOperations(node.calendar)
    api = APIRouter(prefix="/v1", tags=["agency"], dependencies=[Depends(authenticated)])

    @api.get(PATH, response_model=InspectionOut, responses=responses(*AUTH_ERRORS),
             openapi_extra={"security": SECURITY})
    def inspection(auth: Caller, day: Day, ends: Ends = None) -> InspectionOut:
        """The Art. 16 dates of an inspection of the calling agency, on the node's office
        calendar (the same for every agency of the province)."""
        return out(ops.dates(day, ends, today=as_vietnam(clock.now()).date()))

    return api
