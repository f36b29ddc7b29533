"""The agency API's operations, read from and written to SOAP body elements.

Each operation does what its REST route does (adapters/rest/agency.py), through the same
exchange, store and registry calls and the same response models, so that the two edges
cannot drift apart in meaning: only the encoding differs. Element names are the REST
query parameters in requests and the REST JSON fields in responses (schemas/axis.wsdl).
Everything here blocks (database, store): the endpoint runs it in the thread pool.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from lxml import etree

from adapters.node import Node
from adapters.rest.agency import (
    MAX_PAGE,
    AgencyList,
    AgencyOut,
    InboxItemOut,
    InboxPage,
    TrailEventOut,
    TrailOut,
    UpdateStatusOut,
    receipt_out,
)
from adapters.soap.envelope import TNS
from axis import errors
from axis.auth.gate import Caller
from axis.auth.visibility import visible
from axis.clock import as_vietnam, iso
from axis.edxml.model import Kind
from axis.errors import SenderFault
from axis.registry.model import AgencyState
from axis.route.model import TransportState

# A list field of a response model → the name of each repeated element (XSD: maxOccurs).
_ITEM = {"deliveries": "delivery", "warnings": "warning", "items": "item", "events": "event",
         "agencies": "agency"}
_MESSAGE_TYPES = ("edoc", "status")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATUSES = ("processing", "done", "fail")

Operation = Callable[[Node, Caller, Mapping[str, str]], etree._Element]


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
        out[name.localname] = (child.text or "").strip()
    return out


def _required(f: Mapping[str, str], name: str, max_len: int) -> str:
    """An identifier: 1 to `max_len` characters, none of them a control character (as
    the REST query parameters, adapters/rest/agency.py PRINTABLE)."""
    value = f.get(name, "")
    if not value or len(value) > max_len or _CONTROL.search(value):
        raise errors.API_INVALID_REQUEST.error(
            f"{name}: 1 to {max_len} characters, no control characters")
    return value


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


# --- the operations --------------------------------------------------------------------

def send_edoc(node: Node, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    try:
        declared = _choice(f, "messageType", _MESSAGE_TYPES)
        raw = _base64(f, "edoc")
        if not raw.strip():
            raise errors.EMPTY.error("send the package, base64, as edoc")
        if len(raw) > node.settings.edxml.max_package_bytes:
            raise errors.TOO_LARGE.error(f"{len(raw)} bytes")
    except SenderFault as exc:  # refused before the exchange: journaled all the same
        node.exchange.refused(exc, f.get("edoc", "").encode("utf-8", "replace"))
        raise
    me = caller.agency_id
    receipt = node.exchange.submit(
        raw, kind=Kind(declared) if declared else None,
        sender_allowed=lambda sender: node.registry.speaks_for(me, sender))
    node.worker.wake.set()  # as REST: new deliveries in the outbox, no need to wait a poll
    return _answer("sendEdoc", receipt_out(receipt).model_dump())


def get_received_edoc_list(node: Node, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    declared = _choice(f, "messageType", _MESSAGE_TYPES)
    offset = _int(f, "offset", 0, 0, 1_000_000)
    limit = _int(f, "limit", 100, 1, MAX_PAGE)
    items = node.exchange.inbox(
        caller.agency_id, kind=Kind(declared) if declared else None,
        since=_when(f, "since"), until=_when(f, "until"), offset=offset, limit=limit + 1)
    more = len(items) > limit
    page = InboxPage(
        items=[InboxItemOut(
            doc_id=i.delivery_id, sender=i.sender_id, message_type=i.kind.value,
            document_id=i.document_id, business_type=i.business_type,
            status_code=i.status_code, priority=i.priority,
            available_at=iso(i.available_at)) for i in items[:limit]],
        offset=offset, limit=limit, next_offset=offset + limit if more else None)
    return _answer("getReceivedEdocList", page.model_dump())


def get_edoc(node: Node, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    delivery, raw = node.exchange.take(caller.agency_id, _required(f, "docId", 200))
    return _answer("getEdoc", {
        "edoc": raw, "message_type": delivery.kind.value, "sender": delivery.sender_id,
        "package_sha256": delivery.package_sha256,
        "delivered_at": iso(delivery.delivered_at) if delivery.delivered_at else None,
        "effective_at": iso(delivery.effective_at) if delivery.effective_at else None})


def update_status(node: Node, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    doc_id = _required(f, "docId", 200)
    status = _choice(f, "status", _STATUSES)
    if status is None:
        raise errors.API_INVALID_REQUEST.error(f"status: one of {_STATUSES}")
    node.exchange.update_transport(caller.agency_id, doc_id, TransportState(status))
    out = UpdateStatusOut(doc_id=doc_id, status=status)  # type: ignore[arg-type]
    return _answer("updateStatus", out.model_dump())


def get_trail(node: Node, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    document_id = _required(f, "documentId", 500)
    me = caller.agency_id
    mine = frozenset({me} | {a.agency_id for a in node.registry.children_of(me, recursive=True)})
    with node.store.transaction() as tx:
        entries = visible(tx.trail(document_id), mine, tx.get_delivery)
    if not entries:
        raise errors.API_DOCUMENT_UNKNOWN.error(repr(document_id))
    out = TrailOut(document_id=document_id, events=[TrailEventOut(
        at=iso(e.at), agency=e.agency_id, event=e.event.value, status_code=e.status_code,
        doc_id=e.delivery_id, effective_at=iso(e.effective_at) if e.effective_at else None,
        detail=e.detail) for e in entries])
    return _answer("getTrail", out.model_dump())


def get_agencies(node: Node, caller: Caller, f: Mapping[str, str]) -> etree._Element:
    out = AgencyList(caller=caller.agency_id, agencies=[
        AgencyOut(agency_id=a.agency_id, short_id=a.short_id, name=a.name,
                  parent_id=a.parent_id, level=a.level, kind=a.kind.value,
                  state=a.state.value)
        for a in node.registry.list() if a.state is not AgencyState.RETIRED])
    return _answer("getAgencies", out.model_dump())


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
