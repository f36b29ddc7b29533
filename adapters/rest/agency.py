"""The agency API, shaped like the national axis (spec §8) so that connectors adapt easily.

    POST /v1/sendEdoc               a package (multipart `edocFile`, or the raw body) → receipt
    GET  /v1/syncReceivedEdocList   what waits for the caller, urgent first, paged
    GET  /v1/getEdoc?docId=         the package bytes, unchanged; taking it delivers it
    POST /v1/updateStatus           the recipient system's transport state of its copy
    GET  /v1/trail?documentId=      the history of the caller's own documents
    GET  /v1/agencies               the registry as agencies see it

Every route is authenticated (`adapters/rest/auth.py`, deny by default), decodes its
request, calls one agency operation (axis/app/agency.py: who may do what is decided
there, once for REST and SOAP) and encodes the answer as JSON. Routes are plain `def`:
FastAPI runs them in its thread pool, since the exchange and the store block.
The body intake (raw or multipart) is `intake.py`, the answers' models `agency_models.py`
(but the registry's, below).
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from adapters.rest.agency_models import (
    PRINTABLE,
    InboxPage,
    MessageType,
    ReceiptOut,
    TrailOut,
    UpdateStatusIn,
    UpdateStatusOut,
    inbox_page_out,
    receipt_out,
    trail_out,
)
from adapters.rest.auth import SECURITY, SPOOL_ABOVE, Authenticated, authenticated
from adapters.rest.errors import responses
from adapters.rest.intake import package_of
from axis import errors
from axis.app.agency import AgencyOperations
from axis.app.values import (
    DEFAULT_PAGE,
    MAX_DOC_ID,
    MAX_DOCUMENT_ID,
    MAX_OFFSET,
    MAX_PAGE,
    AgencyView,
    InboxFilters,
)
from axis.clock import as_vietnam, iso
from axis.edxml.model import Kind
from axis.errors import SenderFault
from axis.route.model import TransportState

# ISO 8601 date and time, offset optional. A plain string parsed here, not `datetime`:
# pydantic would also take a bare number as Unix time, which the schema does not promise.
ISO_INSTANT = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
               r"(Z|[+-][0-9]{2}:[0-9]{2})?$")



PACKAGE_BODY: dict[str, Any] = {
    "required": True,
    "description": "the signed edXML package: as the whole body, or as the multipart "
                   "field `edocFile` (the national axis' shape)",
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["edocFile"],
            "properties": {"edocFile": {"type": "string", "format": "binary"},
                           "messageType": {"type": "string", "enum": ["edoc", "status"]}}}},
        "application/xml": {"schema": {"type": "string"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
PACKAGE_RESPONSE: dict[str, Any] = {
    "description": "the package bytes exactly as the sender signed them",
    "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "X-Axis-Message-Type": {"schema": {"type": "string", "enum": ["edoc", "status"]}},
        "X-Axis-Sender": {"schema": {"type": "string"},
                          "description": "agency id, percent-encoded"},
        "X-Axis-Package-Sha256": {"schema": {"type": "string"}},
        "X-Axis-Delivered-At": {"schema": {"type": "string"},
                                "description": "ISO 8601, +07:00"},
        "X-Axis-Effective-At": {"schema": {"type": "string"},
                                "description": "Art. 11.2 receipt time, ISO 8601"},
    },
}
AUTH_ERRORS = (401, 403, 413, 422, 429, 500, 503)

Caller = Annotated[Authenticated, Depends(authenticated)]


def operations_of(request: Request) -> AgencyOperations:
    ops: AgencyOperations = request.app.state.node.agency
    return ops


def router() -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["agency"], dependencies=[Depends(authenticated)])
    extra: dict[str, Any] = {"security": SECURITY}

    @api.post("/sendEdoc", response_model=ReceiptOut,
              responses=responses(400, 404, 409, 410, *AUTH_ERRORS),
              openapi_extra={**extra, "requestBody": PACKAGE_BODY})
    def send_edoc(
        request: Request, auth: Caller,
        messageType: Annotated[MessageType | None, Query()] = None,
        messagetype: Annotated[MessageType | None, Header()] = None,
    ) -> ReceiptOut:
        """Send a document or a status package (Art. 7.1: signed; the signed sender must
        be the authenticated agency or one of its child units)."""
        ops = operations_of(request)
        body = auth.body
        spool_dir = request.app.state.agency_auth.spool_dir
        try:
            raw, form_type = package_of(request.headers.get("content-type", ""), body,
                                        spool_dir)
            given = [t for t in (messageType, messagetype, form_type) if t is not None]
            if len(given) > 1:  # query, header and form field: one of them, not a vote
                raise errors.API_DUPLICATE_PARAMETER.error(
                    "messageType: give it once (query, header or form field)")
        except SenderFault as exc:  # refused while decoding: journaled all the same
            ops.refused(exc, body.read())
            raise
        declared = Kind(given[0]) if given else None
        # `received` is read only to journal a package refused for its size; a spooled
        # body is not read whole a second time unless that refusal is coming (issue 9).
        received = (body.small if body.spool is None
                    else body.read() if len(raw) > ops.max_package_bytes else None)
        return receipt_out(ops.send(auth.caller, raw, declared, received=received))

    @api.get("/syncReceivedEdocList", response_model=InboxPage,
             responses=responses(*AUTH_ERRORS), openapi_extra=extra)
    def sync_received(
        request: Request, auth: Caller,
        messageType: Annotated[MessageType | None, Query()] = None,
        since: Annotated[str | None, Query(
            pattern=ISO_INSTANT, description="available_at ≥ since (ISO 8601; no offset: "
                                             "Vietnam time)")] = None,
        until: Annotated[str | None, Query(
            pattern=ISO_INSTANT, description="available_at < until (ISO 8601)")] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ) -> InboxPage:
        """What waits for the caller: urgent first (Art. 7.2), then by arrival."""
        page = operations_of(request).list_received(auth.caller, InboxFilters(
            kind=Kind(messageType) if messageType else None, since=instant("since", since),
            until=instant("until", until), offset=offset, limit=limit))
        return inbox_page_out(page)

    @api.get("/getEdoc", response_class=Response,
             responses={200: PACKAGE_RESPONSE, **responses(404, 410, *AUTH_ERRORS)},
             openapi_extra=extra)
    def get_edoc(
        request: Request, auth: Caller,
        docId: Annotated[str, Query(min_length=1, max_length=MAX_DOC_ID, pattern=PRINTABLE)],
    ) -> Response:
        """The package, byte-identical. The first take delivers the copy: its receipt
        time counts from then, or from the next office session outside office hours
        (Art. 11.2), and the node tells the sender 01 on the recipient's behalf."""
        copy = operations_of(request).get(auth.caller, docId)
        delivery = copy.delivery
        headers = {"X-Axis-Message-Type": delivery.kind.value,
                   # Percent-encoded: header values are Latin-1, identifiers from messy
                   # real data need not be.
                   "X-Axis-Sender": urllib.parse.quote(delivery.sender_id, safe=".,-_/"),
                   "X-Axis-Package-Sha256": delivery.package_sha256}
        if delivery.delivered_at is not None:
            headers["X-Axis-Delivered-At"] = iso(delivery.delivered_at)
        if delivery.effective_at is not None:
            headers["X-Axis-Effective-At"] = iso(delivery.effective_at)
        if copy.content.size <= SPOOL_ABOVE:
            return Response(copy.content.read(), media_type="application/xml",
                            headers=headers)
        # Read from the store and written in slices, each awaited: a 45 MB copy is never
        # one object in the node, nor copied whole into the socket's buffer (issue 9).
        headers["Content-Length"] = str(copy.content.size)
        return StreamingResponse(copy.content.chunks(), media_type="application/xml",
                                 headers=headers)

    # The JSON body is parsed here from the size-capped buffer the authentication read: a
    # declared body parameter would make FastAPI read the whole body, uncapped, before
    # any authentication.
    @api.post("/updateStatus", response_model=UpdateStatusOut,
              responses=responses(404, *AUTH_ERRORS),
              openapi_extra={**extra, "requestBody": {"required": True, "content": {
                  "application/json": {"schema": UpdateStatusIn.model_json_schema()}}}})
    def update_status(request: Request, auth: Caller) -> UpdateStatusOut:
        """The recipient system's own state of its copy (processing, done, fail). Business
        statuses (01–16) travel as status packages through sendEdoc."""
        try:
            body = UpdateStatusIn.model_validate_json(auth.body.read())
        except ValidationError as exc:
            raise errors.API_INVALID_REQUEST.error(
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                          for e in exc.errors())[:2000]) from exc
        done = operations_of(request).update_status(auth.caller, body.docId,
                                                    TransportState(body.status))
        return UpdateStatusOut(doc_id=done.doc_id, status=body.status)

    @api.get("/trail", response_model=TrailOut,
             responses=responses(404, *AUTH_ERRORS), openapi_extra=extra)
    def trail(
        request: Request, auth: Caller,
        documentId: Annotated[str, Query(min_length=1, max_length=MAX_DOCUMENT_ID,
                                         pattern=PRINTABLE)],
    ) -> TrailOut:
        """The history of one of the caller's documents: every recipient's copy for its
        sender, its own copy for a recipient; nothing for anyone else (404)."""
        return trail_out(operations_of(request).trail(auth.caller, documentId))

    @api.get("/agencies", response_model=AgencyList,
             responses=responses(*AUTH_ERRORS), openapi_extra=extra)
    def agencies(request: Request, auth: Caller) -> AgencyList:
        """Registered agencies an agency can address: active and suspended ones, without
        the administrators' notes, endpoints and certificates."""
        return agency_list_out(operations_of(request).agencies(auth.caller))

    return api


def instant(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return as_vietnam(datetime.fromisoformat(text))
    except ValueError as exc:
        raise errors.API_INVALID_REQUEST.error(f"{name}: {exc}") from exc


# The registry as agencies see it stays here: /openapi.json names a model after its module
# when two share a name (admin_models.py has an AgencyOut too), and this component has been
# published as `adapters__rest__agency__AgencyOut`; moving it would rename it for clients.
class AgencyOut(BaseModel):
    agency_id: str = Field(description="QCVN 102 form: the routing key")
    short_id: str = Field(description="Decision 20/2020 form")
    name: str
    parent_id: str | None
    level: int
    kind: Literal["internal", "external"]
    state: Literal["active", "suspended", "retired"]


class AgencyList(BaseModel):
    caller: str = Field(description="the agency the request was authenticated as")
    agencies: list[AgencyOut]


def agency_list_out(view: AgencyView) -> AgencyList:
    return AgencyList(caller=view.caller, agencies=[
        AgencyOut(agency_id=a.agency_id, short_id=a.short_id, name=a.name,
                  parent_id=a.parent_id, level=a.level, kind=a.kind.value,
                  state=a.state.value)
        for a in view.agencies])
