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
"""

from __future__ import annotations

import re
import tempfile
import urllib.parse
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from adapters.rest.auth import SECURITY, SPOOL_ABOVE, Authenticated, Body, authenticated
from adapters.rest.errors import responses
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
    TrailView,
)
from axis.app.values import (
    InboxPage as Page,
)
from axis.clock import as_vietnam, iso
from axis.edxml.model import Kind
from axis.errors import SenderFault
from axis.route.model import Receipt, TransportState

MessageType = Literal["edoc", "status"]
# ISO 8601 date and time, offset optional. A plain string parsed here, not `datetime`:
# pydantic would also take a bare number as Unix time, which the schema does not promise.
ISO_INSTANT = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
               r"(Z|[+-][0-9]{2}:[0-9]{2})?$")
# An identifier in a query: printable, no control characters (PostgreSQL cannot even hold
# a NUL in text, and no transport id or DocumentId carries one).
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
# RFC 2046 §5.1.1: 1 to 70 characters from bchars, the last not a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# The multipart fields sendEdoc reads, each once: a second one is refused, never chosen.
READ_ONCE_PARTS = ("edocFile", "messageType")


class DeliveryOut(BaseModel):
    recipient: str
    doc_id: str = Field(description="transport id of this recipient's copy")
    duplicate: bool


class ReceiptOut(BaseModel):
    """The node's acknowledgement: given only once the package is durable."""

    message_type: MessageType
    sender: str
    document_id: str = Field(description="the business DocumentId")
    package_sha256: str
    accepted_at: str = Field(description="ISO 8601, +07:00")
    duplicate: bool
    deliveries: list[DeliveryOut]
    warnings: list[str]
    journal_seq: int


class InboxItemOut(BaseModel):
    doc_id: str = Field(description="transport id: pass it to getEdoc and updateStatus")
    sender: str
    message_type: MessageType
    document_id: str
    business_type: int | None = Field(description="0 new, 1 revoke, 2 update, 3 replace")
    status_code: str | None = Field(description="01–16 for a status package")
    priority: int = Field(description="0 normal … 4 flash, timed (Art. 7.2)")
    available_at: str = Field(description="ISO 8601, +07:00")


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    offset: int
    limit: int
    next_offset: int | None = Field(description="offset of the next page; null at the end")


class UpdateStatusIn(BaseModel):
    docId: str = Field(min_length=1, max_length=MAX_DOC_ID, pattern=PRINTABLE)
    status: Literal["processing", "done", "fail"]


class UpdateStatusOut(BaseModel):
    doc_id: str
    status: Literal["processing", "done", "fail"]


class TrailEventOut(BaseModel):
    at: str = Field(description="ISO 8601, +07:00")
    agency: str = Field(description="whose history: the recipient, or who reported")
    event: str
    status_code: str | None
    doc_id: str | None
    effective_at: str | None = Field(description="Art. 11.2 receipt time, when delivered")
    detail: str


class TrailOut(BaseModel):
    document_id: str
    events: list[TrailEventOut]


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


def receipt_out(r: Receipt) -> ReceiptOut:
    return ReceiptOut(
        message_type=r.kind.value, sender=r.sender_id, document_id=r.document_id,
        package_sha256=r.package_sha256, accepted_at=iso(r.accepted_at),
        duplicate=r.duplicate,
        deliveries=[DeliveryOut(recipient=d.recipient_id, doc_id=d.delivery_id,
                                duplicate=d.duplicate) for d in r.deliveries],
        warnings=list(r.warnings), journal_seq=r.journal_seq)


def inbox_page_out(page: Page) -> InboxPage:
    return InboxPage(
        items=[InboxItemOut(
            doc_id=i.delivery_id, sender=i.sender_id, message_type=i.kind.value,
            document_id=i.document_id, business_type=i.business_type,
            status_code=i.status_code, priority=i.priority,
            available_at=iso(i.available_at)) for i in page.items],
        offset=page.offset, limit=page.limit, next_offset=page.next_offset)


def trail_out(view: TrailView) -> TrailOut:
    return TrailOut(document_id=view.document_id, events=[TrailEventOut(
        at=iso(e.at), agency=e.agency_id, event=e.event.value, status_code=e.status_code,
        doc_id=e.delivery_id, effective_at=iso(e.effective_at) if e.effective_at else None,
        detail=e.detail) for e in view.entries])


def agency_list_out(view: AgencyView) -> AgencyList:
    return AgencyList(caller=view.caller, agencies=[
        AgencyOut(agency_id=a.agency_id, short_id=a.short_id, name=a.name,
                  parent_id=a.parent_id, level=a.level, kind=a.kind.value,
                  state=a.state.value)
        for a in view.agencies])


def package_of(content_type: str, body: Body | bytes,
               spool_dir: Path | None = None) -> tuple[bytes, MessageType | None]:
    """The package from a multipart upload (`edocFile`, optional `messageType` field)
    or the raw body; `edxml.empty` when there is none. Either way the package is one
    bytes object read once: a large part goes through a spool file, not a buffer that
    is then copied (issue 9)."""
    if isinstance(body, bytes):
        body = Body(len(body), "", small=body)
    if content_type.lower().startswith("multipart/"):
        parts = multipart_fields(content_type, body.chunks(), spool_dir)
        raw = parts.get("edocFile", b"")
        declared = parts.get("messageType", b"").decode("ascii", "replace").strip()
        if declared and declared not in ("edoc", "status"):
            raise errors.API_INVALID_REQUEST.error(f"messageType {declared[:20]!r}")
        form_type: MessageType | None = (
            "edoc" if declared == "edoc" else "status" if declared == "status" else None)
    else:
        raw, form_type = body.read(), None
    if not raw or raw.isspace():  # bytes.strip() would copy a large package
        raise errors.EMPTY.error("send the package as the body or as multipart edocFile")
    return raw, form_type


class _PartSink:
    """One part's bytes: in memory, then in an unnamed file past `SPOOL_ABOVE`."""

    def __init__(self, spool_dir: Path | None) -> None:
        self._dir = spool_dir
        self._mem: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._mem is None:
            assert self._file is not None
            self._file.write(data)
            return
        self._mem += data
        if len(self._mem) > SPOOL_ABOVE:
            if self._dir is not None:
                self._dir.mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(prefix="part-", dir=self._dir)  # noqa: SIM115
            self._file.write(self._mem)
            self._mem = None

    def value(self) -> bytes:
        if self._mem is not None:
            return bytes(self._mem)
        assert self._file is not None
        with self._file:
            self._file.seek(0)
            return self._file.read()


def multipart_fields(content_type: str, body: Iterable[bytes] | bytes,
                     spool_dir: Path | None = None) -> dict[str, bytes]:
    """Every named part of a multipart body. A part sendEdoc reads (`READ_ONCE_PARTS`)
    given twice, or a part naming itself twice, is refused (`api.duplicate_parameter`):
    which one the node would pick is exactly what a sender and a reviewer may disagree
    on."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise errors.API_INVALID_REQUEST.error("multipart body without a boundary")
    if not _BOUNDARY.fullmatch(boundary):
        raise errors.API_INVALID_REQUEST.error(
            "multipart boundary: 1 to 70 characters (RFC 2046 §5.1.1)")
    fields: dict[str, bytes] = {}
    header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}
    current: dict[str, Any] = {"name": None, "data": _PartSink(spool_dir), "dispositions": 0}

    def on_part_begin() -> None:
        current["name"], current["data"], current["dispositions"] = (
            None, _PartSink(spool_dir), 0)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        if bytes(header["field"]).strip().lower() == b"content-disposition":
            current["dispositions"] += 1
            if current["dispositions"] > 1:
                raise errors.API_DUPLICATE_PARAMETER.error(
                    "a multipart part with two Content-Disposition headers")
            _, disp = parse_options_header(bytes(header["value"]))
            name = disp.get(b"name")
            current["name"] = name.decode("utf-8", "replace") if name is not None else None
        header["field"], header["value"] = bytearray(), bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"].write(data[start:end])

    def on_part_end() -> None:
        name = current["name"]
        if name is None:
            return
        if name in fields and name in READ_ONCE_PARTS:
            raise errors.API_DUPLICATE_PARAMETER.error(f"multipart field {name} given twice")
        if name not in fields:
            fields[name] = current["data"].value()
        current["data"] = None  # a large part is held once: in `fields`

    try:
        parser = MultipartParser(boundary, {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field,
            "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_part_data": on_part_data, "on_part_end": on_part_end})
        for chunk in [body] if isinstance(body, bytes) else body:
            parser.write(chunk)
        parser.finalize()
    except (MultipartParseError, FormParserError) as exc:
        raise errors.API_INVALID_REQUEST.error(f"multipart body: {exc}") from exc
    return fields
