"""Build edXML bytes from the typed values: strict in what the node emits (spec intro).

The builder writes the national spellings (`Bussiness`, `OrganizationInCharge`), the
`MessageHeader` status wrapper, `cid:` content ids, `yyyy/MM/dd` dates and base64 in
76-character lines. It writes no signature: the node signs what it emits afterwards
(`axis.trust`), and packages from agencies are never rebuilt, only forwarded.
"""

from __future__ import annotations

import base64
from datetime import date, datetime

from lxml import etree

from axis.clock import format_wire_date, format_wire_timestamp
from axis.edxml.model import (
    NS,
    Attachment,
    Business,
    DocumentHeader,
    DocumentPackage,
    Organ,
    Package,
    ReplacementInfo,
    ResponseFor,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)

Element = etree._Element
_NSMAP = {"edXML": NS}


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _sub(parent: Element, name: str, text: str | None = None) -> Element:
    el = etree.SubElement(parent, _q(name))
    if text is not None:
        el.text = text
    return el


def _opt(parent: Element, name: str, value: str | int | date | datetime | None) -> None:
    """Write a leaf only when it has a value (empty means absent to the reader)."""
    if value is None or value == "":
        return
    if isinstance(value, datetime):
        text = format_wire_timestamp(value)
    elif isinstance(value, date):
        text = format_wire_date(value)
    else:
        text = str(value)
    _sub(parent, name, text)


def _organ(parent: Element, name: str, o: Organ) -> None:
    el = _sub(parent, name)
    _opt(el, "OrganId", o.organ_id)
    _opt(el, "OrganizationInCharge", o.in_charge)
    _opt(el, "OrganName", o.name)
    _opt(el, "OrganAdd", o.address)
    _opt(el, "Email", o.email)
    _opt(el, "Telephone", o.telephone)
    _opt(el, "Fax", o.fax)
    _opt(el, "Website", o.website)


def _staff(parent: Element, s: StaffInfo | None) -> None:
    if s is None:
        return
    el = _sub(parent, "StaffInfo")
    _opt(el, "Department", s.department)
    _opt(el, "DepartmentId", s.department_id)
    _opt(el, "Staff", s.staff)
    _opt(el, "StaffId", s.staff_id)
    _opt(el, "Email", s.email)
    _opt(el, "Mobile", s.mobile)


def _response_for(parent: Element, r: ResponseFor) -> None:
    el = _sub(parent, "ResponseFor")
    _opt(el, "OrganId", r.organ_id)
    _opt(el, "Code", r.code)
    _opt(el, "PromulgationDate", r.promulgation_date)
    _opt(el, "DocumentId", r.document_id)
    if not len(el):
        # An empty ResponseFor means "answers nothing": leave it out entirely.
        parent.remove(el)


def _document_header(parent: Element, h: DocumentHeader) -> None:
    mh = _sub(parent, "MessageHeader")
    _organ(mh, "From", h.sender)
    for r in h.recipients:
        _organ(mh, "To", r)
    _sub(mh, "DocumentId", h.document_id)
    code = _sub(mh, "Code")
    _opt(code, "CodeNumber", h.code.number)
    _opt(code, "CodeNotation", h.code.notation)
    promo = _sub(mh, "PromulgationInfo")
    _opt(promo, "Place", h.promulgation_place)
    _opt(promo, "PromulgationDate", h.promulgation_date)
    if h.document_type is not None:
        dt = _sub(mh, "DocumentType")
        _opt(dt, "Type", h.document_type.type)
        _opt(dt, "TypeDetail", h.document_type.detail)
        _opt(dt, "TypeName", h.document_type.name)
    _sub(mh, "Subject", h.subject)
    _opt(mh, "Content", h.content)
    if h.signer is not None:
        si = _sub(mh, "SignerInfo")
        _opt(si, "Competence", h.signer.competence)
        _opt(si, "Position", h.signer.position)
        _opt(si, "FullName", h.signer.full_name)
    _opt(mh, "DueDate", h.due_date)
    if h.to_places:
        tp = _sub(mh, "ToPlaces")
        for p in h.to_places:
            _sub(tp, "Place", p)
    o = h.other
    oi = _sub(mh, "OtherInfo")
    _sub(oi, "Priority", str(int(o.priority)))
    _opt(oi, "SphereOfPromulgation", o.sphere)
    _opt(oi, "TyperNotation", o.typer_notation)
    _opt(oi, "PromulgationAmount", o.promulgation_amount)
    _opt(oi, "PageAmount", o.page_amount)
    _opt(oi, "Direction", o.direction)
    _opt(oi, "SecurityLevel", o.secrecy)
    if o.appendixes:
        ap = _sub(oi, "Appendixes")
        for a in o.appendixes:
            _sub(ap, "Appendix", a)
    for answered in h.response_for:
        _response_for(mh, answered)
    _opt(mh, "SteeringType", h.steering_type)
    if h.response_for_task:
        box = _sub(mh, "ResponseForTask")
        for task_code in h.response_for_task:
            _sub(box, "TaskCode", task_code)


def _replacement(parent: Element, r: ReplacementInfo) -> None:
    el = _sub(parent, "ReplacementInfo")
    _opt(el, "DocumentId", r.document_id)
    ids = _sub(el, "OrganIdList")
    for organ_id in r.organ_ids:
        _sub(ids, "OrganId", organ_id)


def _business(parent: Element, b: Business) -> None:
    el = _sub(parent, "Bussiness")
    _opt(el, "DocumentId", b.document_id)
    _sub(el, "BussinessDocType", str(int(b.doc_type)))
    _opt(el, "BussinessDocReason", b.reason)
    _opt(el, "Paper", b.paper)
    if b.document_info is not None:
        info = _sub(el, "BussinessDocumentInfo")
        _opt(info, "DocumentInfo", b.document_info.document_info)
        _opt(info, "DocumentReceiver", b.document_info.document_receiver)
        if b.document_info.receivers:
            box = _sub(info, "ReceiverList")
            for r in b.document_info.receivers:
                rec = _sub(box, "Receiver")
                _opt(rec, "OrganId", r.organ_id)
                _opt(rec, "ReceiverType", r.receiver_type)
    if b.replacements:
        box = _sub(el, "ReplacementInfoList")
        for replaced in b.replacements:
            _replacement(box, replaced)
    _staff(el, b.staff)


def _traces(parent: Element, traces: tuple[TraceHeader, ...], b: Business | None) -> None:
    if not traces and b is None:
        return
    el = _sub(parent, "TraceHeaderList")
    for t in traces:
        th = _sub(el, "TraceHeader")
        _opt(th, "OrganId", t.organ_id)
        _opt(th, "Timestamp", t.timestamp)
    if b is not None:
        _business(el, b)


def _base64_lines(data: bytes) -> str:
    return "\n" + base64.encodebytes(data).decode("ascii")


def _attachments(root: Element, body: Element, doc: DocumentPackage) -> None:
    manifest = _sub(body, "edXMLManifest")
    manifest.set("version", "1.0")
    for ref in doc.references:
        r = _sub(manifest, "Reference")
        _sub(r, "ContentId", f"cid:{ref.content_id}")
        _opt(r, "ContentType", ref.content_type)
        _opt(r, "Description", ref.description)
        _opt(r, "AttachmentName", ref.attachment_name)
    if not doc.attachments:
        return
    box = _sub(root, "AttachmentEncoded")
    for a in doc.attachments:
        _attachment(box, a)


def _attachment(box: Element, a: Attachment) -> None:
    if a.data is None:
        raise ValueError(f"attachment {a.content_id} has no data to encode")
    el = _sub(box, "Attachment")
    _sub(el, "ContentId", f"cid:{a.content_id}")
    _opt(el, "AttachmentName", a.name)
    _opt(el, "Description", a.description)
    _opt(el, "ContentType", a.content_type)
    _sub(el, "ContentTransferEncoded", _base64_lines(a.data))


def build_tree(package: Package) -> Element:
    root = etree.Element(_q("edXML"), nsmap=_NSMAP)
    envelope = _sub(root, "edXMLEnvelope")
    header = _sub(envelope, "edXMLHeader")
    if isinstance(package, StatusPackage):
        h = package.header
        mh = _sub(header, "MessageHeader")
        _organ(mh, "From", h.sender)
        _response_for(mh, h.response_for)
        _staff(mh, h.staff)
        _sub(mh, "StatusCode", h.status_code.value)
        _opt(mh, "Description", h.description)
        _opt(mh, "Timestamp", h.timestamp)
        return root
    _document_header(header, package.header)
    _traces(header, package.traces, package.business)
    body = _sub(envelope, "edXMLBody")
    _attachments(root, body, package)
    return root


def build(package: Package) -> bytes:
    """UTF-8 bytes with an XML declaration; ready to be signed by the node."""
    return bytes(
        etree.tostring(build_tree(package), xml_declaration=True, encoding="UTF-8")
    )
