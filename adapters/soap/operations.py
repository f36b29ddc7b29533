"""The agency API's operations, read from and written to SOAP body elements.

Each operation decodes its parameters, calls the same agency operation as its REST route
(axis/app/agency.py, where who may do what is decided once) and encodes the typed answer,
so that the two edges cannot drift apart in meaning: only the encoding differs. Element
names are the REST query parameters in requests and the REST JSON fields in responses
(schemas/axis.wsdl). Everything here blocks (database, store): the endpoint runs it in
the thread pool.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from lxml import etree

from adapters.soap.envelope import TNS
from axis import errors
from axis.app.agency import AgencyOperations, identifier
from axis.app.values import (
    DEFAULT_PAGE,
    MAX_DOC_ID,
    MAX_OFFSET,
    MAX_PAGE,
    AgencyView,
    InboxFilters,
    InboxPage,
    TakenCopy,
    TrailView,
    TransportUpdate,
)
from axis.auth.gate import Caller
from axis.clock import as_vietnam, iso
from axis.edxml import attachments as att
from axis.edxml.model import Kind
from axis.errors import SenderFault
from axis.route.model import Receipt, TransportState

# A list field of a response model → the name of each repeated element (XSD: maxOccurs).
_ITEM = {"deliveries": "delivery", "warnings": "warning", "items": "item", "events": "event",
         "agencies": "agency"}
_MESSAGE_TYPES = ("edoc", "status")
_STATUSES = ("processing", "done", "fail")

Operation = Callable[[AgencyOperations, Caller, Mapping[str, str]], etree._Element]


# --- reading requests ------------------------------------------------------------------

def fields_of(op: etree._Element, allowed: tuple[str, ...]) -> dict[str, str]:
    """The operation's parameters by local name. Unknown or repeated ones are refused:
    a misspelt optional parameter silently ignored would change what the caller gets."""
    out: dict[str, str] = {}
    for child in op.iterchildren("*"):  # elements only: comments and PIs are no parameters
        name = etree.QName(child)
        if name.namespace != TNS or name.localname not in allowed:
            raise errors.API_INVALID_REQUEST.error(f"unexpected element {child.tag}")
        if name.localname in out:
            raise errors.API_DUPLICATE_PARAMETER.error(f"{name.localname} given twice")
        if len(child):
            raise errors.API_INVALID_REQUEST.error(f"{name.localname} must be text")
        text = child.text or ""
        # The package (base64, tens of MB) is left unstripped: strip() would copy it, and
        # decoding skips the white space anyway (issue 9).
        out[name.localname] = text if name.localname in _UNSTRIPPED else text.strip()
    return out


_UNSTRIPPED = frozenset({"edoc"})


def _choice(f: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = f.get(name) or None
    if value is not None and value not in allowed:
        raise errors.API_INVALID_REQUEST.error(f"{name} {value[:20]!r}: one of {allowed}")
    return value


def _int(f: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = f.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise errors.API_INVALID_REQUEST.error(f"{name} {text[:20]!r}: {low} to {high}")
    return value


def _when(f: Mapping[str, str], name: str) -> datetime | None:
    text = f.get(name)
    if not text:
        return None
    try:
        return as_vietnam(datetime.fromisoformat(text))
    except ValueError as exc:
        raise errors.API_INVALID_REQUEST.error(f"{name}: xsd:dateTime, not {text[:40]!r}") \
            from exc


def _base64(f: Mapping[str, str], name: str) -> bytes:
    # xsd:base64Binary allows whitespace anywhere (line-wrapped encoders).
    try:
        # Base64 broken by ASCII white space only (every encoder's): decoded without the
        # per-line strings and the joined copy that splitting builds (a package is up to
        # tens of MB, issue 9).
        return att.decode_base64(f.get(name, ""))
    except ValueError:
        pass  # anything else is judged exactly as before
    text = "".join(f.get(name, "").split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.API_INVALID_REQUEST.error(f"{name}: not base64") from exc


# --- writing responses -----------------------------------------------------------------

def _emit(parent: etree._Element, name: str, value: Any) -> None:
    """One response field as XML: None is an absent element (minOccurs=0), a list is the
    field's item element repeated, a mapping an element with children in model order."""
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _emit(parent, _ITEM[name], item)
        return
    el = etree.SubElement(parent, f"{{{TNS}}}{name}")
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _emit(el, key, sub)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, bytes):
        el.text = base64.b64encode(value).decode("ascii")
    else:
        el.text = str(value)


def _answer(operation: str, fields: Mapping[str, Any]) -> etree._Element:
    out = etree.Element(f"{{{TNS}}}{operation}Response", nsmap={"axis": TNS})
    for key, value in fields.items():
        _emit(out, key, value)
    return out


# --- encoding the answers (the REST JSON fields, in the same order) --------------------

def receipt_fields(r: Receipt) -> dict[str, Any]:
    return {"message_type": r.kind.value, "sender": r.sender_id,
            "document_id": r.document_id, "package_sha256": r.package_sha256,
            "accepted_at": iso(r.accepted_at), "duplicate": r.duplicate,
            "deliveries": [{"recipient": d.recipient_id, "doc_id": d.delivery_id,
                            "duplicate": d.duplicate} for d in r.deliveries],
            "warnings": list(r.warnings), "journal_seq": r.journal_seq}


def page_fields(page: InboxPage) -> dict[str, Any]:
    return {"items": [{"doc_id": i.delivery_id, "sender": i.sender_id,
                       "message_type": i.kind.value, "document_id": i.document_id,
                       "business_type": i.business_type, "status_code": i.status_code,
                       "priority": i.priority, "available_at": iso(i.available_at)}
                      for i in page.items],
            "offset": page.offset, "limit": page.limit, "next_offset": page.next_offset}


def copy_fields(copy: TakenCopy) -> dict[str, Any]:
    d = copy.delivery
    return {"edoc": copy.raw, "message_type": d.kind.value, "sender": d.sender_id,
            "package_sha256": d.package_sha256,
            "delivered_at": iso(d.delivered_at) if d.delivered_at else None,
            "effective_at": iso(d.effective_at) if d.effective_at else None}


def update_fields(done: TransportUpdate) -> dict[str, Any]:
    return {"doc_id": done.doc_id, "status": done.status.value}


def trail_fields(view: TrailView) -> dict[str, Any]:
    return {"document_id": view.document_id, "events": [
        {"at": iso(e.at), "agency": e.agency_id, "event": e.event.value,
         "status_code": e.status_code, "doc_id": e.delivery_id,
         "effective_at": iso(e.effective_at) if e.effective_at else None,
         "detail": e.detail} for e in view.entries]}


def agencies_fields(view: AgencyView) -> dict[str, Any]:
    return {"caller": view.caller, "agencies": [
        {"agency_id": a.agency_id, "short_id": a.short_id, "name": a.name,
         "parent_id": a.parent_id, "level": a.level, "kind": a.kind.value,
         "state": a.state.value} for a in view.agencies]}


# --- the operations --------------------------------------------------------------------

def send_edoc(ops: AgencyOperations, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    def received() -> bytes:  # what the transport carried: encoded only for a refusal
        return f.get("edoc", "").strip().encode("utf-8", "replace")

    try:
        declared = _choice(f, "messageType", _MESSAGE_TYPES)
        raw = _base64(f, "edoc")
        if not raw or raw.isspace():  # bytes.strip() would copy a large package
            raise errors.EMPTY.error("send the package, base64, as edoc")
    except SenderFault as exc:  # refused while decoding: journaled all the same
        ops.refused(exc, received())
        raise
    # `received` is read only to journal a package refused for its size.
    receipt = ops.send(caller, raw, Kind(declared) if declared else None,
                       received=received() if len(raw) > ops.max_package_bytes else None)
    return _answer("sendEdoc", receipt_fields(receipt))


def get_received_edoc_list(ops: AgencyOperations, caller: Caller,
                           f: Mapping[str, str]) -> etree._Element:
    declared = _choice(f, "messageType", _MESSAGE_TYPES)
    offset = _int(f, "offset", 0, 0, MAX_OFFSET)
    limit = _int(f, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    page = ops.list_received(caller, InboxFilters(
        kind=Kind(declared) if declared else None, since=_when(f, "since"),
        until=_when(f, "until"), offset=offset, limit=limit))
    return _answer("getReceivedEdocList", page_fields(page))


def get_edoc(ops: AgencyOperations, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    return _answer("getEdoc", copy_fields(ops.get(caller, f.get("docId", ""))))


def update_status(ops: AgencyOperations, caller: Caller,
                  f: Mapping[str, str]) -> etree._Element:
    # The identifier before the status, as the operation would: one refusal order
    # whichever parameter is wrong first.
    doc_id = identifier("docId", f.get("docId", ""), MAX_DOC_ID)
    status = _choice(f, "status", _STATUSES)
    if status is None:
        raise errors.API_INVALID_REQUEST.error(f"status: one of {_STATUSES}")
    done = ops.update_status(caller, doc_id, TransportState(status))
    return _answer("updateStatus", update_fields(done))


def get_trail(ops: AgencyOperations, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    return _answer("getTrail", trail_fields(ops.trail(caller, f.get("documentId", ""))))


def get_agencies(ops: AgencyOperations, caller: Caller,
                 f: Mapping[str, str]) -> etree._Element:
    return _answer("getAgencies", agencies_fields(ops.agencies(caller)))


# operation → (its function, the parameters it accepts)
OPERATIONS: dict[str, tuple[Operation, tuple[str, ...]]] = {
    "sendEdoc": (send_edoc, ("messageType", "edoc")),
    "getReceivedEdocList": (get_received_edoc_list,
                            ("messageType", "since", "until", "offset", "limit")),
    "getEdoc": (get_edoc, ("docId",)),
    "updateStatus": (update_status, ("docId", "status")),
    "getTrail": (get_trail, ("documentId",)),
    "getAgencies": (get_agencies, ()),
}
