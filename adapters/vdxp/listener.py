"""The compatibility listener: agency systems built for the national axis (the VNPT SDK,
../shared/spec/vdxp.md) call `/vdxp/{operation}` as they would call the national axis,
with only the endpoint URL and their credential changed (docs/vdxp.md).

A thin edge like REST and SOAP: check the call (mode on, system listed, source bound,
credential live, `XroadVnpt-*` signature, timestamp window, replay policy, rate limit;
axis/auth/vdxp.py), decode the headers and the `file_doc` part, call one agency operation
(axis/app/agency.py) and encode the answer as the SDK's envelope, always HTTP 200 (the
SDK reads `status`, and fails on any other shape). `docId` is the node's transport id of
a recipient's copy; the `DocId` a send answers with is the package's SHA-256 (the node
fans out per recipient; getSentEdocList pairs it with each copy's id).

Every call, accepted or refused, leaves one `vdxp.call` journal entry with the mode
`vdxp-compat`: the protocol's signature is weaker than the node's own, so what came in
this way stays visible to auditors.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from adapters.logs import context, get_logger
from adapters.rest.auth import SPOOL_ABOVE, Body, client_fingerprint, read_capped
from adapters.rest.intake import multipart_fields
from adapters.store.auth_state import SqlAdmission, admission_engine
from adapters.vdxp import protocol
from adapters.vdxp.sent import SqlSentLookup
from axis import errors
from axis.app.agency import AgencyOperations
from axis.app.values import MAX_OFFSET, MAX_PAGE, InboxFilters
from axis.auth import keys, signing, vdxp
from axis.auth.admission import Ticket
from axis.auth.gate import Caller, RateLimited
from axis.auth.ratelimit import Bucket
from axis.clock import Clock, iso
from axis.edxml.model import Kind
from axis.errors import AxisError, SenderFault
from axis.route.model import Delivery, TransportState
from axis.settings import Settings, VdxpSettings

if TYPE_CHECKING:  # the node imports the vdxp client: no import cycle at run time
    from adapters.node import Node

log = get_logger("axis.vdxp")

PREFIX = "/vdxp"
MODE = "vdxp-compat"
JOURNAL_KIND = "vdxp.call"
_STATUSES = {"processing": TransportState.PROCESSING, "done": TransportState.DONE,
             "fail": TransportState.FAIL}
_SEND_STATUS = {"queued": "Đang chuyển / In transit", "available": "Chờ nhận / Waiting",
                "delivered": "Đã nhận / Received", "withdrawn": "Đã thu hồi / Recalled",
                "failed": "Lỗi chuyển / Failed"}
_RECEIVE_STATUS = {"none": "Chưa xử lý / Not reported", "processing": "Đang xử lý / Processing",
                   "done": "Đã xử lý / Done", "fail": "Lỗi / Failed"}


@dataclass(frozen=True, slots=True)
class Call:
    """One accepted call, as the operation handlers see it."""

    ops: AgencyOperations
    node: Node
    caller: Caller | None  # None: a peer node's call (issue 10), no agency behind it
    params: dict[str, str]
    body: Body
    spool_dir: Any

    @property
    def agency_caller(self) -> Caller:
        if self.caller is None:  # _accept lets a peer reach only peer_send_edoc
            raise errors.VDXP_BAD_REQUEST.error("an agency operation from a peer node")
        return self.caller


Handler = Callable[[Call], Response]


@dataclass(frozen=True, slots=True)
class Operation:
    reads: tuple[str, ...]  # the parameters it reads: each one sent must be signed
    handle: Handler


@dataclass(frozen=True, slots=True)
class VdxpState:
    settings: VdxpSettings
    trusted_proxies: tuple[Any, ...]
    client_cert_header: str
    master: bytes
    admission: SqlAdmission
    clock: Clock
    body_cap: int


# --- the operations --------------------------------------------------------------------

def _envelope(**fields: Any) -> JSONResponse:
    return JSONResponse(protocol.ok(**fields))


def _required(c: Call, name: str) -> str:
    value = c.params.get(name, "").strip()
    if not value:
        raise errors.VDXP_BAD_REQUEST.error(f"send the header {name}")
    return value


def _kind(c: Call, *, required: bool) -> Kind | None:
    value = c.params.get("messagetype", "").strip().lower()
    if not value and not required:
        return None
    if value not in ("edoc", "status"):
        raise errors.VDXP_BAD_REQUEST.error("messagetype: edoc or status")
    service = c.params.get("servicetype", "").strip()
    if service and service.lower() != "edoc":
        raise errors.VDXP_BAD_REQUEST.error(f"servicetype {service[:20]!r}: eDoc")
    return Kind(value)


def _package(c: Call) -> tuple[Kind | None, bytes]:
    """sendEdoc's package: its declared kind and the `file_doc` part, checked against
    the signed `hash-file`."""
    try:
        kind = _kind(c, required=True)
        expected = _required(c, "hash-file").lower()
        to = c.params.get("to")
        if to is not None:  # informational: the recipients are the signed package's
            try:
                listed = json.loads(to)
            except ValueError:
                listed = None
            if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
                raise errors.VDXP_BAD_REQUEST.error("to: a JSON array of agency ids")
        content_type = c.params.get("content-type", "")
        if not content_type.lower().startswith("multipart/"):
            raise errors.VDXP_BAD_REQUEST.error("sendEdoc: multipart/form-data, part file_doc")
        raw = multipart_fields(content_type, c.body.chunks(), c.spool_dir).get("file_doc", b"")
        if not raw:
            raise errors.VDXP_BAD_REQUEST.error("sendEdoc: the part file_doc is missing")
        if hashlib.sha256(raw).hexdigest() != expected:
            # hash-file is signed: a file that differs is not the one the system sent.
            raise errors.VDXP_BAD_SIGNATURE.error("hash-file differs from file_doc's SHA-256")
    except SenderFault as exc:  # refused while decoding: journaled like any refusal
        c.ops.refused(exc, c.body.read())
        raise
    return kind, raw


def send_edoc(c: Call) -> Response:
    kind, raw = _package(c)
    receipt = c.ops.send(c.agency_caller, raw, kind)
    return _envelope(DocId=receipt.package_sha256, documentId=receipt.document_id,
                     duplicate=receipt.duplicate,
                     deliveries=[{"to": d.recipient_id, "docId": d.delivery_id}
                                 for d in receipt.deliveries])


def received_list(c: Call) -> Response:
    page = c.ops.list_received(c.agency_caller, InboxFilters(kind=_kind(c, required=False),
                                                      limit=MAX_PAGE))
    return _envelope(data=[{
        "docId": i.delivery_id, "serviceType": "eDoc", "messageType": i.kind.value,
        "from": i.sender_id, "to": i.agency_id, "status": "initial",
        "status_desc": "Chờ nhận / Waiting", "created_time": iso(i.available_at),
        "updated_time": iso(i.available_at), "documentId": i.document_id,
        "priority": i.priority} for i in page.items])


def get_edoc(c: Call) -> Response:
    copy = c.ops.get(c.agency_caller, _required(c, "docid"))
    try:
        text = copy.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.VDXP_BAD_REQUEST.error(
            "the package is not UTF-8 text: take it with downloadEdoc") from exc
    return _envelope(data=text, docId=copy.delivery.delivery_id)


def download_edoc(c: Call) -> Response:
    copy = c.ops.get(c.agency_caller, _required(c, "docid"))
    headers = {"X-Axis-Package-Sha256": copy.delivery.package_sha256}
    if copy.content.size <= SPOOL_ABOVE:
        return Response(copy.content.read(), media_type="application/octet-stream",
                        headers=headers)
    headers["Content-Length"] = str(copy.content.size)
    return StreamingResponse(copy.content.chunks(), media_type="application/octet-stream",
                             headers=headers)


def update_status(c: Call) -> Response:
    status = _STATUSES.get(_required(c, "status").lower())
    if status is None:
        raise errors.VDXP_BAD_REQUEST.error("status: processing, done or fail")
    done = c.ops.update_status(c.agency_caller, _required(c, "docid"), status)
    return _envelope(docId=done.doc_id)


def _sent_row(d: Delivery) -> dict[str, object]:
    return {"senderDocId": d.package_sha256, "receiverDocId": d.delivery_id,
            "fromCode": d.sender_id, "toCode": d.recipient_id, "title": "",
            "notation": d.document_id, "messageType": d.kind.value,
            "sentTime": iso(d.accepted_at),
            "receivedTime": iso(d.delivered_at) if d.delivered_at else "",
            "sendStatus": d.state.value, "sendStatusDesc": _SEND_STATUS.get(d.state.value, ""),
            "receiveStatus": d.transport_state.value,
            "receiveStatusDesc": _RECEIVE_STATUS.get(d.transport_state.value, "")}


def sent_list(c: Call) -> Response:
    rows = c.ops.sent(c.agency_caller, SqlSentLookup(c.node.engine), limit=MAX_PAGE)
    return _envelope(data=[_sent_row(d) for d in rows])


def _agencies(c: Call, *, qd20: bool) -> Response:
    try:
        asked = json.loads(c.body.read() or b"{}")
    except ValueError as exc:
        raise errors.VDXP_BAD_REQUEST.error("the body: a JSON object") from exc
    level = str(asked.get("level", "")).strip() if isinstance(asked, dict) else ""
    data: list[dict[str, object]] = []
    for a in c.ops.agencies(c.agency_caller).agencies:
        if level and str(a.level) != level:
            continue
        row: dict[str, object] = {"id": a.agency_id, "code": a.short_id,
                                  "pid": a.parent_id or "", "name": a.name,
                                  "mail": a.contact_email, "oldCode": ""}
        if qd20:
            row["code102"] = a.agency_id
        data.append(row)
    return _envelope(data=data)


def _count(kind: Kind) -> Handler:
    def count(c: Call) -> Response:
        n, offset = 0, 0
        while True:
            page = c.ops.list_received(c.agency_caller, InboxFilters(kind=kind, offset=offset,
                                                              limit=MAX_PAGE))
            n += len(page.items)
            if page.next_offset is None or page.next_offset > MAX_OFFSET:
                return _envelope(count=n)
            offset = page.next_offset
    return count


def registry_refused(_: Call) -> Response:
    # Registering units is the registry's administrators' work (axis admin, the admin
    # API); an agency system may not change who is served where.
    raise errors.AUTH_ADMIN_FORBIDDEN.error(
        "registerAgency, deleteAgency and getSynchronizeUnit are not open to agency systems")


OPERATIONS: dict[str, Operation] = {
    "sendEdoc": Operation(("from", "to", "servicetype", "messagetype", "hash-file"),
                          send_edoc),
    "getReceivedEdocList": Operation(("servicetype", "messagetype"), received_list),
    "getEdoc": Operation(("docid",), get_edoc),
    "downloadEdoc": Operation(("docid",), download_edoc),
    "updateStatus": Operation(("docid", "status"), update_status),
    "getSentEdocList": Operation((), sent_list),
    "getAgenciesList": Operation((), lambda c: _agencies(c, qd20=False)),
    "getAgenciesListQD20": Operation((), lambda c: _agencies(c, qd20=True)),
    "countReceiveEdoc": Operation((), _count(Kind.EDOC)),
    "countReceiveStatus": Operation((), _count(Kind.STATUS)),
    "registerAgency": Operation((), registry_refused),
    "deleteAgency": Operation(("agencycode",), registry_refused),
    "getSynchronizeUnit": Operation((), registry_refused),
}


# --- checking a call -------------------------------------------------------------------

def source_address(request: Request, trusted: Sequence[Any]) -> str | None:
    """The caller's address: the socket's peer, or, when that peer is a trusted reverse
    proxy, the right-most address of X-Forwarded-For that is not one."""
    peer = request.client.host if request.client else None
    chain = [peer] if peer else []
    forwarded = request.headers.get("x-forwarded-for", "")
    chain = [a.strip() for a in forwarded.split(",") if a.strip()] + chain
    for address in reversed(chain):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address  # not an address: bound to nothing, refused by the check
        if not any(ip.version == n.version and ip in n for n in trusted):
            return address
    return chain[0] if chain else None


@dataclass(slots=True)
class _Record:
    """What the call's journal entry says, filled in as the call goes."""

    operation: str
    system: str = ""
    source: str = ""
    agency: str = ""


async def _accept(request: Request, operation: str, st: VdxpState, node: Node,
                  rec: _Record) -> Response:
    s = st.settings
    if not s.enabled:
        raise errors.VDXP_DISABLED.error("the vdxp mode is off on this node")
    params = vdxp.collect(request.headers.items())
    rec.system = vdxp.system_of(params)
    system = s.system(rec.system)
    if system is None:
        raise errors.VDXP_DISABLED.error(f"system {rec.system!r} is not in vdxp.systems")
    rec.source = source_address(request, st.trusted_proxies) or ""
    try:
        fingerprint = client_fingerprint(request, st.client_cert_header)
    except AxisError:
        fingerprint = None
    if not vdxp.source_allowed(rec.source, fingerprint, system.addresses,
                               system.client_cert_fingerprints):
        raise errors.VDXP_SOURCE_NOT_ALLOWED.error(
            f"{rec.source or 'no address'} / {'certificate' if fingerprint else 'no certificate'}"
            f" is not bound to {rec.system}")
    op = OPERATIONS.get(operation)
    if op is None:
        raise errors.VDXP_BAD_REQUEST.error(f"no operation {operation[:60]!r}")
    secret = signing.derive_secret(st.master, rec.system)
    if system.peer:  # another Axis node (issue 10): no agency credential behind it
        if operation != "sendEdoc":
            raise errors.VDXP_BAD_REQUEST.error(
                f"{operation[:60]}: a peer node only hands packages over (sendEdoc)")
        rec.agency = f"peer:{system.peer}"
        caller: Caller | None = None
    else:
        # The registry's word on every call: a revoked credential fails on the next one.
        agency = await run_in_threadpool(node.registry.authenticate, rec.system, secret)
        caller = Caller(rec.system, agency)
        rec.agency = agency.agency_id
    signed = vdxp.verify(params, secret, reads=op.reads, required=s.signed_required)
    now = st.clock.now()
    window = timedelta(minutes=system.timestamp_window_minutes)
    vdxp.check_window(signed.at, now, window)
    body = await read_capped(request, st.body_cap, node.settings.data_dir / "spool")
    await run_in_threadpool(_admit, st, operation, signed, now, window)
    context.note(agency=rec.agency)
    call = Call(node.agency, node, caller, {**signed.params}, body,
                node.settings.data_dir / "spool")
    if system.peer:
        return await run_in_threadpool(peer_send_edoc, call, system.peer)
    return await run_in_threadpool(op.handle, call)


def peer_send_edoc(c: Call, peer: str) -> Response:
    """A package from another Axis node: it enters as that peer's (axis/federation/
    intake.py); a duplicate answers OK with `duplicate: true` — done, never fail."""
    kind, raw = _package(c)
    receipt = c.node.intake.accept_pushed(peer, raw, kind or Kind.EDOC)
    return _envelope(DocId=receipt.package_sha256, documentId=receipt.document_id,
                     duplicate=receipt.duplicate,
                     deliveries=[{"to": d.recipient_id, "docId": d.delivery_id}
                                 for d in receipt.deliveries])


def _admit(st: VdxpState, operation: str, signed: vdxp.Signed, now: datetime,
           window: timedelta) -> None:
    """The replay policy and the system's rate limit, in one step shared by every node
    process (the REST gate's admission store, with this mode's own buckets)."""
    if operation in vdxp.MUTATING:
        key = vdxp.replay_key(signed.system_id, operation, signed.mac)
        expires = signed.at.timestamp() + window.total_seconds()
    else:  # reads may repeat: a key never seen again, forgotten at once
        key, expires = f"read:{uuid.uuid4().hex}", now.timestamp()
    verdict = st.admission.admit(
        Ticket(f"vdxp:{signed.system_id}", key, expires_at=expires,
               bucket=f"vdxp:{signed.system_id}"), now.timestamp())
    if verdict.replayed:
        raise errors.VDXP_STALE.error(
            f"{operation} with these signed headers and this body was already accepted")
    if verdict.wait:
        raise RateLimited(verdict.wait)


def _journal(node: Node, at: datetime, rec: _Record, outcome: str, code: str,
             error_id: str) -> None:
    payload: dict[str, object] = {
        "system": rec.system, "operation": rec.operation[:64], "mode": MODE,
        "outcome": outcome, "code": code, "source": rec.source, "agency": rec.agency}
    if error_id:
        payload["error_id"] = error_id
    with node.store.transaction() as tx:
        tx.append_journal(at, JOURNAL_KIND, rec.system or "-", payload)


async def _record(node: Node, st: VdxpState, rec: _Record, outcome: str, code: str,
                  error_id: str = "") -> None:
    try:
        await run_in_threadpool(_journal, node, st.clock.now(), rec, outcome, code, error_id)
    except Exception as exc:  # the answer is decided; the failure is the node's, logged
        log.error("vdxp.journal_failed", operation=rec.operation[:64], system=rec.system,
                  exc_info=exc)


def _refusal(exc: AxisError) -> tuple[dict[str, Any], str]:
    eid = exc.error_id or str(uuid.uuid4())
    extra: dict[str, Any] = {}
    if isinstance(exc, RateLimited):
        extra["RetryAfter"] = exc.retry_after
    refused = log.error if exc.code.http_status >= 500 else log.info
    refused("refused", code=exc.code.id, error_id=eid, detail=exc.detail, mode=MODE)
    context.note(code=exc.code.id, error_id=eid)
    return protocol.fail(exc.code, detail=exc.detail, error_id=eid, **extra), eid


def mount(app: FastAPI, settings: Settings, node: Node, clock: Clock) -> None:
    """Add `/vdxp/{operation}` to the agency API's app. Mounted whatever the setting (a
    call with the mode off gets the envelope `vdxp.disabled`, journaled)."""
    s = settings.vdxp
    engine = admission_engine(node.engine)
    state = VdxpState(
        settings=s, trusted_proxies=settings.rest.trusted_proxies,
        client_cert_header=settings.rest.client_cert_header,
        master=keys.master_key(settings) if s.enabled else b"",
        admission=SqlAdmission(engine, Bucket(s.rate_per_minute, s.burst)),
        clock=clock, body_cap=settings.rest.body_cap(settings.edxml))
    app.state.vdxp = state

    async def endpoint(request: Request) -> Response:
        operation = str(request.path_params.get("operation", ""))
        context.note(operation=f"vdxp:{operation[:64]}")
        rec = _Record(operation)
        try:
            answer = await _accept(request, operation, state, node, rec)
        except AxisError as exc:
            body, eid = _refusal(exc)
            await _record(node, state, rec, "refused", exc.code.id, eid)
            return JSONResponse(body)
        except Exception as exc:  # nothing leaves as a bare traceback
            internal = errors.INTERNAL.error(type(exc).__name__)
            log.error("node.internal", path=request.url.path, exc_info=exc)
            body, eid = _refusal(internal)
            await _record(node, state, rec, "refused", internal.code.id, eid)
            return JSONResponse(body)
        await _record(node, state, rec, "accepted", protocol.SUCCESS_CODE)
        return answer

    app.add_route(f"{PREFIX}/{{operation}}", endpoint, methods=["GET", "POST"],
                  include_in_schema=False)
