"""A simulated national axis (VDXP), written from vdxp.md only, for tests of the node.

Every operation is ``{endpoint}/{operation}`` (POST; ``downloadEdoc``, ``countReceiveEdoc``
and ``countReceiveStatus`` GET, POST accepted too), parameters in headers read
case-insensitively under their own name or ``XroadVnpt-``-prefixed. Any path prefix before
the operation is accepted, so ``http://host:port/`` and ``http://host:port/vdxp/`` both work.
Every answer is HTTP 200 with ``{"status": "OK"|"FAIL", "ErrorCode", "ErrorDesc", ...}``
(``downloadEdoc`` answers the bytes on success).

Authentication (vdxp.md "Transport and authentication"), in this order:

1. ``XroadVnpt-systemid`` names a configured system;
2. ``XroadVnpt-timestamp`` matches ``ddMMyyyy'T'HHmmss+SSSS`` (``+SSSS`` is Java's literal
   ``+`` and milliseconds), read as Vietnam time (UTC+07:00), within
   ``timestamp_window_hours`` of the simulator's clock either way;
3. ``XroadVnpt-hash-header`` equals the lower-case hex HMAC-SHA256, keyed with the system's
   secret, of the exact bytes of ``XroadVnpt-sign-header`` as received;
4. that JSON is an object of strings whose keys are exactly ``XroadVnpt-sign-header-key``'s
   ``;``-separated names, and every value equals the header of that name actually sent;
5. the timestamp and every parameter the operation reads (when present) are among the signed
   headers, and the plain and prefixed copies of a parameter agree;
6. on ``sendEdoc``, ``hash-file`` equals the SHA-256 hex of the ``file_doc`` part.

The scheme has no nonce: a captured request can be replayed within the window. The
simulator journals every call (``calls`` table) as vdxp.md asks a server to; it does not
try to detect replays, because the real axis cannot either.

Error codes (``ErrorCode``; stable, distinct, tested):

=====  ===============================================================================
0      success
100    a required header is missing (systemid, timestamp, signature headers, parameter)
101    unknown system id
102    timestamp does not match ddMMyyyy'T'HHmmss+SSSS
103    timestamp outside the accepted window
104    bad signature: hash-header is not the HMAC of sign-header with the system's secret
105    signed headers do not match: sign-header not a JSON object of strings, its keys are
       not sign-header-key's names, a signed value differs from the header sent, or the
       plain and ``XroadVnpt-`` copies of a parameter differ
106    a header the operation reads (or the timestamp) is not among the signed headers
107    hash-file is not the SHA-256 of file_doc
108    no ``file_doc`` part, or the package is empty or larger than max_package_bytes
109    the package is not a readable edXML package
110    the package names no recipient (and no ``to`` header)
111    unknown docId (or one that is neither sent nor received by the caller)
112    status is not processing, done or fail
113    messagetype / servicetype invalid, or messagetype does not match the package
114    unknown agency code
115    registerAgency body invalid (code missing, pcode is not the caller's system id)
116    sender (``from``) is not a unit served by the caller's center (strict_sender)
117    ``from`` differs from the package's From/OrganId (strict_sender)
118    unknown operation
119    the item is already acknowledged done (no transition out of done)
120    ``to`` header is not a JSON array of strings
121    ``to`` names a recipient the package does not name
122    the unit is served by another center
123    the package is not UTF-8 text: fetch it with downloadEdoc
124    request body is not a JSON object
199    internal simulator error
=====  ===============================================================================

Delivery model: ``sendEdoc`` answers one ``DocId`` (the sender's transport id). Each
recipient unit gets its own delivery with its own ``receiverDocId``; that id is the
``docId`` the serving system sees in ``getReceivedEdocList`` and passes to ``getEdoc`` and
``updateStatus``. Recipients are the package's To/OrganId (document) or
ResponseFor/OrganId (status); a ``to`` header, when sent, narrows them (a provincial axis
forwards the original bytes and names only its external recipients there) and must be a
subset. A recipient no system serves is recorded as undeliverable in ``getSentEdocList``.
An item stays listed until acknowledged ``done``; ``fail`` keeps it listed (vdxp.md leaves
it undocumented; keeping it is the reading that never loses a package). The sender may also
fetch its own package by ``DocId``.

``GET /_sim/state`` is simulator-only (no real axis has it, no authentication): counts of
stored packages, deliveries and listed items per system, for tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tools.vdxp_sim.config import SimConfig, SystemConfig
from tools.vdxp_sim.package import PackageUnreadable, read_package
from tools.vdxp_sim.store import Delivery, Package, Store, Unit

VN = timezone(timedelta(hours=7))
PREFIX = "xroadvnpt-"
_TIMESTAMP = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{4})$")
_STATUS_DESC = {
    "pending": "Chờ nhận / waiting",
    "processing": "Đang xử lý / processing",
    "done": "Đã nhận / received",
    "fail": "Lỗi / failed",
    "undeliverable": "Không có hệ thống phục vụ đơn vị nhận / no system serves the recipient",
}

# The parameters each operation reads: each must be signed when present (check 5).
OPERATIONS: dict[str, tuple[str, ...]] = {
    "sendEdoc": ("from", "servicetype", "messagetype", "to", "hash-file"),
    "getReceivedEdocList": ("servicetype", "messagetype"),
    "getEdoc": ("docid",),
    "downloadEdoc": ("docid",),
    "updateStatus": ("docid", "status"),
    "getSentEdocList": (),
    "countReceiveEdoc": (),
    "countReceiveStatus": (),
    "getAgenciesList": (),
    "getAgenciesListQD20": (),
    "getSynchronizeUnit": (),
    "registerAgency": (),
    "deleteAgency": ("agencycode",),
}
_BY_LOWER = {name.lower(): name for name in OPERATIONS}


class SimFail(Exception):
    def __init__(self, code: str, desc: str) -> None:
        super().__init__(f"{code}: {desc}")
        self.code = code
        self.desc = desc


def envelope(**fields: Any) -> dict[str, Any]:
    return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **fields}


def fail_envelope(code: str, desc: str) -> dict[str, Any]:
    return {"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc}


class Headers:
    """Request headers by lower-case name, raw bytes kept (the MAC is over exact bytes)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw: dict[str, list[bytes]] = {}
        for name, value in raw:
            self._raw.setdefault(name.decode("latin-1").lower(), []).append(value)

    def raw(self, name: str) -> list[bytes]:
        return self._raw.get(name.lower(), [])

    def values(self, name: str) -> list[str]:
        return [v.decode("latin-1") for v in self.raw(name)]

    def fixed(self, name: str) -> str | None:
        """A fixed header: `XroadVnpt-<name>`, or the plain name as a fallback."""
        found = self.values(PREFIX + name) or self.values(name)
        return found[0] if found else None

    def param(self, name: str) -> str | None:
        found = self.values(name) + self.values(PREFIX + name)
        if not found:
            return None
        if any(v != found[0] for v in found):
            raise SimFail("105", f"header {name!r} sent with different values")
        return found[0]


def parse_timestamp(text: str) -> datetime:
    m = _TIMESTAMP.match(text)
    if m is None:
        raise SimFail("102", f"timestamp {text!r} does not match ddMMyyyy'T'HHmmss+SSSS")
    dd, mm, yyyy, hh, mi, ss, ms = (int(g) for g in m.groups())
    try:
        return datetime(yyyy, mm, dd, hh, mi, ss, min(ms, 999) * 1000, tzinfo=VN)
    except ValueError as exc:
        raise SimFail("102", f"timestamp {text!r} is not a date: {exc}") from exc


class Simulator:
    def __init__(self, config: SimConfig, store: Store,
                 clock: Callable[[], datetime]) -> None:
        self.config = config
        self.store = store
        self.clock = clock

    def now_text(self) -> str:
        return self.clock().astimezone(VN).isoformat(timespec="seconds")

    # -- authentication -------------------------------------------------------------------

    def authenticate(self, h: Headers, operation: str) -> SystemConfig:
        system_id = h.fixed("systemid")
        if not system_id:
            raise SimFail("100", "missing header XroadVnpt-systemid")
        system = self.config.system(system_id)
        if system is None:
            raise SimFail("101", f"unknown system {system_id!r}")
        stamp = h.fixed("timestamp")
        if not stamp:
            raise SimFail("100", "missing header XroadVnpt-timestamp")
        when = parse_timestamp(stamp)
        window = timedelta(hours=self.config.timestamp_window_hours)
        if abs(self.clock() - when) > window:
            raise SimFail("103", f"timestamp {stamp} outside the accepted window")
        key_list = h.fixed("sign-header-key")
        sign_raw = h.raw(PREFIX + "sign-header") or h.raw("sign-header")
        mac = h.fixed("hash-header")
        if not key_list or not sign_raw or not mac:
            raise SimFail("100", "missing signature headers (sign-header-key, sign-header, "
                                 "hash-header)")
        expected = hmac.new(system.secret.encode("utf-8"), sign_raw[0],
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, mac.strip().lower()):
            raise SimFail("104", "hash-header is not the HMAC-SHA256 of sign-header")
        try:
            signed = json.loads(sign_raw[0].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SimFail("105", f"sign-header is not JSON: {exc}") from exc
        if not isinstance(signed, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in signed.items()):
            raise SimFail("105", "sign-header is not a JSON object of strings")
        names = {n.strip().lower() for n in key_list.split(";") if n.strip()}
        if names != {k.lower() for k in signed}:
            raise SimFail("105", "sign-header keys differ from sign-header-key")
        for key, value in signed.items():
            sent = h.values(key)
            if not sent or any(v != value for v in sent):
                raise SimFail("105", f"signed header {key!r} differs from the header sent")
        signed_bare = {k.lower().removeprefix(PREFIX) for k in signed}
        if "timestamp" not in signed_bare:
            raise SimFail("106", "XroadVnpt-timestamp is not signed")
        for param in OPERATIONS[operation]:
            if h.param(param) is not None and param not in signed_bare:
                raise SimFail("106", f"header {param!r} is not signed")
        return system

    # -- dispatch -------------------------------------------------------------------------

    async def handle(self, operation: str, request: Request) -> Response:
        h = Headers(list(request.headers.raw))
        caller = h.fixed("systemid") or "-"
        try:
            name = _BY_LOWER.get(operation.lower())
            if name is None:
                raise SimFail("118", f"unknown operation {operation!r}")
            system = self.authenticate(h, name)
            result = await getattr(self, "op_" + name)(system, h, request)
        except SimFail as exc:
            self.store.journal(self.now_text(), caller, operation, exc.code)
            return JSONResponse(fail_envelope(exc.code, exc.desc))
        except Exception as exc:
            self.store.journal(self.now_text(), caller, operation, "199")
            return JSONResponse(fail_envelope("199", f"internal error: {exc!r}"))
        self.store.journal(self.now_text(), caller, operation, "0")
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    async def json_body(self, request: Request) -> dict[str, Any]:
        body = await request.body()
        if not body.strip():
            return {}
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SimFail("124", f"body is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise SimFail("124", "body is not a JSON object")
        return parsed

    def served_system(self, code: str) -> SystemConfig | None:
        unit = self.store.unit(code)
        if unit is None or unit.deleted or not unit.center_code:
            return None
        for s in self.config.systems:
            if s.center == unit.center_code:
                return s
        return None

    # -- documents ------------------------------------------------------------------------

    async def op_sendEdoc(self, system: SystemConfig, h: Headers,
                          request: Request) -> dict[str, Any]:
        sender = h.param("from")
        messagetype = (h.param("messagetype") or "").lower()
        hash_file = h.param("hash-file")
        servicetype = h.param("servicetype")
        if not sender or not messagetype or not hash_file:
            raise SimFail("100", "sendEdoc needs headers from, messagetype, hash-file")
        if messagetype not in {"edoc", "status"}:
            raise SimFail("113", f"messagetype {messagetype!r} is not edoc or status")
        if servicetype is not None and servicetype.lower() != "edoc":
            raise SimFail("113", f"servicetype {servicetype!r} is not eDoc")
        form = await request.form(max_files=2, max_fields=20)
        part = form.get("file_doc")
        if not isinstance(part, UploadFile):
            raise SimFail("108", "no file_doc part")
        raw = await part.read(self.config.max_package_bytes + 1)
        if not raw or len(raw) > self.config.max_package_bytes:
            raise SimFail("108", "file_doc is empty or too large")
        digest = hashlib.sha256(raw).hexdigest()
        if not hmac.compare_digest(digest, hash_file.strip().lower()):
            raise SimFail("107", "hash-file is not the SHA-256 of file_doc")
        try:
            facts = read_package(raw)
        except PackageUnreadable as exc:
            raise SimFail("109", str(exc)) from exc
        if facts.is_status != (messagetype == "status"):
            raise SimFail("113", f"messagetype {messagetype} does not match the package")
        if self.config.strict_sender:
            serving = self.served_system(sender)
            if serving is None or serving.center != system.center:
                raise SimFail("116", f"sender {sender} is not served by {system.system_id}")
            if facts.from_code != sender:
                raise SimFail("117", f"from {sender} differs from the package's From "
                                     f"{facts.from_code}")
        recipients = list(facts.recipients)
        to_header = h.param("to")
        if to_header is not None and to_header.strip():
            try:
                to_list = json.loads(to_header)
            except json.JSONDecodeError as exc:
                raise SimFail("120", f"to is not JSON: {exc}") from exc
            if not isinstance(to_list, list) or not all(isinstance(t, str) for t in to_list):
                raise SimFail("120", "to is not a JSON array of strings")
            to_list = list(dict.fromkeys(t.strip() for t in to_list if t.strip()))
            if recipients:
                extra = [t for t in to_list if t not in recipients]
                if extra:
                    raise SimFail("121", f"to names recipients not in the package: {extra}")
            if to_list:
                recipients = to_list
        if not recipients:
            raise SimFail("110", "the package names no recipient")
        if self.config.dedupe_sends:
            existing = self.store.find_duplicate(system.system_id, messagetype, digest)
            if existing is not None:
                return envelope(DocId=existing, Duplicate=True)
        now = self.now_text()
        doc_id = str(uuid.uuid4())
        deliveries = []
        for code in recipients:
            target = self.served_system(code)
            status = "pending" if target is not None else "undeliverable"
            deliveries.append(Delivery(
                receiver_doc_id=str(uuid.uuid4()) if target is not None else "",
                doc_id=doc_id, to_code=code,
                system_id=target.system_id if target is not None else None,
                status=status, status_desc=_STATUS_DESC[status],
                created_time=now, updated_time=now, received_time=""))
        # An undeliverable row has no receiver id of its own; the UNIQUE column still needs
        # one, so it gets a marked id nobody is handed.
        deliveries = [d if d.receiver_doc_id else replace(
            d, receiver_doc_id=f"undeliverable:{uuid.uuid4()}") for d in deliveries]
        self.store.add_package(Package(
            doc_id=doc_id, sender_system=system.system_id, from_code=sender,
            messagetype=messagetype, sha256=digest, body=raw, title=facts.title,
            notation=facts.notation, sent_time=now), deliveries)
        return envelope(DocId=doc_id)

    def _messagetype(self, h: Headers) -> str:
        servicetype = h.param("servicetype")
        if servicetype is not None and servicetype.lower() != "edoc":
            raise SimFail("113", f"servicetype {servicetype!r} is not eDoc")
        messagetype = (h.param("messagetype") or "edoc").lower()
        if messagetype not in {"edoc", "status"}:
            raise SimFail("113", f"messagetype {messagetype!r} is not edoc or status")
        return messagetype

    async def op_getReceivedEdocList(self, system: SystemConfig, h: Headers,
                                     request: Request) -> dict[str, Any]:
        items = self.store.inbox(system.system_id, self._messagetype(h))
        return envelope(data=[{
            "docId": d.receiver_doc_id, "serviceType": "eDoc", "messageType": p.messagetype,
            "from": p.from_code, "to": d.to_code, "status": d.status,
            "status_desc": d.status_desc, "created_time": d.created_time,
            "updated_time": d.updated_time,
        } for d, p in items])

    def _fetchable(self, system: SystemConfig, h: Headers) -> Package:
        doc_id = h.param("docid")
        if not doc_id:
            raise SimFail("100", "missing header docId")
        delivery = self.store.delivery(doc_id)
        if delivery is not None and delivery.system_id == system.system_id:
            package = self.store.package(delivery.doc_id)
        else:
            package = self.store.package(doc_id)
            if package is not None and package.sender_system != system.system_id:
                package = None
        if package is None:
            raise SimFail("111", f"unknown docId {doc_id}")
        return package

    async def op_getEdoc(self, system: SystemConfig, h: Headers,
                         request: Request) -> dict[str, Any]:
        package = self._fetchable(system, h)
        try:
            text = package.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SimFail("123", "the package is not UTF-8: use downloadEdoc") from exc
        return envelope(data=text)

    async def op_downloadEdoc(self, system: SystemConfig, h: Headers,
                              request: Request) -> Response:
        package = self._fetchable(system, h)
        return Response(package.body, media_type="application/octet-stream")

    async def op_updateStatus(self, system: SystemConfig, h: Headers,
                              request: Request) -> dict[str, Any]:
        doc_id = h.param("docid")
        status = (h.param("status") or "").lower()
        if not doc_id or not status:
            raise SimFail("100", "updateStatus needs headers docId and status")
        if status not in {"processing", "done", "fail"}:
            raise SimFail("112", f"status {status!r} is not processing, done or fail")
        delivery = self.store.delivery(doc_id)
        if delivery is None or delivery.system_id != system.system_id:
            raise SimFail("111", f"unknown docId {doc_id}")
        if delivery.status == "done":
            if status == "done":
                return envelope()
            raise SimFail("119", f"{doc_id} is already acknowledged done")
        self.store.set_status(doc_id, status, _STATUS_DESC[status], self.now_text())
        return envelope()

    async def op_getSentEdocList(self, system: SystemConfig, h: Headers,
                                 request: Request) -> dict[str, Any]:
        rows = []
        for d, p in self.store.sent(system.system_id):
            undeliverable = d.system_id is None
            rows.append({
                "senderDocId": p.doc_id,
                "receiverDocId": "" if undeliverable else d.receiver_doc_id,
                "fromCode": p.from_code, "toCode": d.to_code, "messageType": p.messagetype,
                "title": p.title, "notation": p.notation, "sentTime": p.sent_time,
                "receivedTime": d.received_time,
                "sendStatus": "fail" if undeliverable else "sent",
                "sendStatusDesc": _STATUS_DESC["undeliverable"] if undeliverable
                else "Đã gửi / sent",
                "receiveStatus": d.status, "receiveStatusDesc": d.status_desc,
            })
        return envelope(data=rows)

    async def op_countReceiveEdoc(self, system: SystemConfig, h: Headers,
                                  request: Request) -> dict[str, Any]:
        return envelope(count=len(self.store.inbox(system.system_id, "edoc")))

    async def op_countReceiveStatus(self, system: SystemConfig, h: Headers,
                                    request: Request) -> dict[str, Any]:
        return envelope(count=len(self.store.inbox(system.system_id, "status")))

    # -- registry -------------------------------------------------------------------------

    def _agencies(self, body: dict[str, Any], qd20: bool) -> list[dict[str, Any]]:
        level = body.get("level")
        out = []
        for u in self.store.units():
            if u.deleted:
                continue
            # Level 1: the top of the tree (pid 0), e.g. provincial People's Committees.
            if level is not None and str(level) == "1" and u.pid != 0:
                continue
            item: dict[str, Any] = {"id": u.id, "code": u.code, "pid": u.pid, "name": u.name,
                                    "mail": u.mail, "oldCode": u.old_code}
            if qd20:
                item["code102"] = u.code
            out.append(item)
        return out

    async def op_getAgenciesList(self, system: SystemConfig, h: Headers,
                                 request: Request) -> dict[str, Any]:
        return envelope(data=self._agencies(await self.json_body(request), qd20=False))

    async def op_getAgenciesListQD20(self, system: SystemConfig, h: Headers,
                                     request: Request) -> dict[str, Any]:
        return envelope(data=self._agencies(await self.json_body(request), qd20=True))

    async def op_getSynchronizeUnit(self, system: SystemConfig, h: Headers,
                                    request: Request) -> dict[str, Any]:
        return envelope(data=[{
            "id": u.id, "pid": u.pid, "code": u.code, "name": u.name, "mail": u.mail,
            "centerCode": u.center_code, "version": u.version, "deleted": u.deleted,
            "modifyDate": u.modify_date, "isAgency": u.is_agency,
        } for u in self.store.units()])

    async def op_registerAgency(self, system: SystemConfig, h: Headers,
                                request: Request) -> dict[str, Any]:
        # The body is not covered by the signature (vdxp.md): only pcode is checked
        # against the authenticated caller, and a unit of another center cannot be taken.
        body = await self.json_body(request)
        code = str(body.get("code") or "").strip()
        if not code:
            raise SimFail("115", "registerAgency needs code")
        if str(body.get("pcode") or "") != system.system_id:
            raise SimFail("115", "pcode must be the caller's system id")
        existing = self.store.unit(code)
        now = self.now_text()
        if existing is None:
            try:
                unit_id = int(body["id"]) if body.get("id") not in (None, "") else 0
            except (TypeError, ValueError):
                unit_id = 0
            unit = Unit(code=code, id=unit_id or self.store.next_unit_id(), pid=0,
                        name=str(body.get("name") or ""), mail=str(body.get("mail") or ""),
                        mobile=str(body.get("mobile") or ""), fax=str(body.get("fax") or ""),
                        center_code=system.center, version=1, deleted=False,
                        modify_date=now, is_agency=True, old_code="")
        else:
            if (not existing.deleted and existing.center_code
                    and existing.center_code != system.center):
                raise SimFail("122", f"{code} is served by center {existing.center_code}")
            unit = replace(
                existing, center_code=system.center, version=existing.version + 1,
                deleted=False, modify_date=now,
                name=str(body.get("name") or existing.name),
                mail=str(body.get("mail") or existing.mail),
                mobile=str(body.get("mobile") or existing.mobile),
                fax=str(body.get("fax") or existing.fax))
        self.store.put_unit(unit)
        return envelope(data={"code": unit.code, "centerCode": unit.center_code,
                              "version": unit.version})

    async def op_deleteAgency(self, system: SystemConfig, h: Headers,
                              request: Request) -> dict[str, Any]:
        code = h.param("agencycode")
        if not code:
            raise SimFail("100", "missing header AgencyCode")
        existing = self.store.unit(code)
        if existing is None:
            raise SimFail("114", f"unknown agency {code}")
        if existing.center_code != system.center:
            raise SimFail("122", f"{code} is served by center {existing.center_code}")
        if existing.deleted:
            return envelope()
        self.store.put_unit(replace(existing, deleted=True, version=existing.version + 1,
                                    modify_date=self.now_text()))
        return envelope()


def make_app(config: SimConfig, data_dir: Path, *,
             clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The simulator as an ASGI app; state in ``data_dir/vdxp-sim.sqlite3``."""
    store = Store(Path(data_dir) / "vdxp-sim.sqlite3")
    sim = Simulator(config, store, clock or (lambda: datetime.now(VN)))
    store.seed_units(config.units, sim.now_text())
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="vdxp-sim", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.simulator = sim

    @app.get("/_sim/state")
    async def sim_state() -> dict[str, Any]:
        return store.state()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def operation(path: str, request: Request) -> Response:
        return await sim.handle(path.rstrip("/").rsplit("/", 1)[-1], request)

    return app
