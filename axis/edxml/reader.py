"""Read a parsed edXML tree into frozen values, collecting findings as it goes.

Liberal in what it accepts (spec §1–§5): any sibling order, both `Bussiness`/`Business`
and `OrganizationInCharge`/`OrganInCharge`, both status wrappers, `cid:` on either side,
empty elements, vendor children. Field-level problems become findings with the element
path and line; only a tree that is not an edXML package at all raises.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeVar

from lxml import etree

from axis import errors
from axis.clock import parse_wire_date, parse_wire_timestamp
from axis.edxml import attachments as att
from axis.edxml.model import (
    DSIG_NS,
    NS,
    Attachment,
    Business,
    BusinessDocumentInfo,
    BusinessType,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Kind,
    Organ,
    OtherInfo,
    Package,
    Priority,
    Receiver,
    Reference,
    ReplacementInfo,
    ResponseFor,
    SignatureState,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusHeader,
    StatusPackage,
    TraceHeader,
)
from axis.edxml.signature_probe import probe_signature
from axis.errors import Code, Finding
from axis.settings import EdxmlSettings

Element = etree._Element
T = TypeVar("T")

# Field limits: spec §2 where it gives one; otherwise generous limits of our own that
# stop abuse without refusing any real package seen.
LIMITS: dict[str, int] = {
    "CodeNumber": 11, "CodeNotation": 30, "Place": 50, "Subject": 500, "Content": 500,
    "ToPlace": 150, "SphereOfPromulgation": 100, "TyperNotation": 10,
    "OrganId": 64, "DocumentId": 200, "Description": 2000, "BussinessDocReason": 2000,
    "AttachmentName": 255, "ContentId": 255, "ContentType": 255,
}
DEFAULT_LIMIT = 1000
ORGAN_FIELDS = {
    "OrganId": "organ_id", "OrganName": "name", "OrganizationInCharge": "in_charge",
    "OrganInCharge": "in_charge", "OrganAdd": "address", "Email": "email",
    "Telephone": "telephone", "Fax": "fax", "Website": "website",
}
SECRECY_FIELDS = ("SecurityLevel", "Secrecy", "SecretLevel", "DoMat", "Confidentiality")
STAFF_FIELDS = {
    "Department": "department", "Staff": "staff", "Email": "email", "Mobile": "mobile",
    "DepartmentId": "department_id", "StaffId": "staff_id",
}


_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def ascii_int(text: str) -> int:
    """int() without its Unicode generosity: "３" or Arabic-Indic digits are not numbers
    on the wire, whatever Python's int() says."""
    if not _ASCII_INT.fullmatch(text):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def line_of(el: Element) -> int | None:
    """The source line (lxml-stubs type it loosely)."""
    line: object = el.sourceline
    return line if isinstance(line, int) else None


def local(el: Element) -> str:
    return etree.QName(el).localname


def element_path(el: Element) -> str:
    parts: list[str] = []
    node: Element | None = el
    while node is not None:
        name = local(node)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


_NS_PREFIX = "{" + NS + "}"
_NS_LEN = len(_NS_PREFIX)
_NS_WILDCARD = _NS_PREFIX + "*"


def children(el: Element) -> dict[str, list[Element]]:
    """Children in the edXML namespace by local name, in document order."""
    out: dict[str, list[Element]] = {}
    # The tag filter runs in C: comments, PIs and other namespaces never reach Python.
    for c in el.iterchildren(_NS_WILDCARD):
        name = c.tag[_NS_LEN:]
        found = out.get(name)
        if found is None:
            out[name] = [c]
        else:
            found.append(c)
    return out


def strip_cid(content_id: str) -> str:
    cid = content_id.strip()
    return cid[4:].strip() if cid[:4].lower() == "cid:" else cid


class Reader:
    def __init__(self, limits: EdxmlSettings, keep_data: bool, release_text: bool) -> None:
        self.limits = limits
        self.keep_data = keep_data
        self.release_text = release_text
        self.findings: list[Finding] = []

    # --- small helpers ---------------------------------------------------------------
    def add(self, code: Code, detail: str, el: Element) -> None:
        self.findings.append(code.finding(detail, path=element_path(el), line=line_of(el)))

    def text(self, el: Element | None, limit_key: str | None = None) -> str:
        if el is None:
            return ""
        value = (el.text or "").strip()
        if not value:
            return ""
        limit = LIMITS.get(limit_key or el.tag[_NS_LEN:], DEFAULT_LIMIT)
        if len(value) > limit:
            self.add(errors.FIELD_TOO_LONG, f"{len(value)} characters > {limit}", el)
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            self.add(errors.TEXT_NOT_NFC, "decomposed Unicode", el)
        return value

    def first(self, kids: dict[str, list[Element]], *names: str) -> Element | None:
        for n in names:
            found = kids.get(n)
            if found:
                return found[0]
        return None

    def field(self, kids: dict[str, list[Element]], *names: str) -> str:
        return self.text(self.first(kids, *names))

    def once(self, kids: dict[str, list[Element]], *names: str) -> None:
        """Refuse a repeat of an element read with `first`: the repeat would be ignored
        here but may be what the next system reads (a second payload, a second type).
        `names` may join spelling variants with `|`."""
        for name in names:
            found = [e for n in name.split("|") for e in kids.get(n, [])]
            if len(found) > 1:
                self.add(errors.SCHEMA_INVALID, f"{name} occurs {len(found)} times", found[1])

    def convert(
        self, el: Element | None, fn: Callable[[str], T], code: Code, what: str
    ) -> T | None:
        value = self.text(el)
        if el is None or not value:
            return None
        try:
            return fn(value)
        except ValueError:
            self.add(code, f"{what}: {value!r}", el)
            return None

    def small_int(self, el: Element | None) -> int | None:
        return self.convert(el, ascii_int, errors.VALUE_INVALID, "not an integer")

    def a_date(self, el: Element | None) -> date | None:
        return self.convert(el, parse_wire_date, errors.DATE_INVALID, "not a valid date")

    def a_timestamp(self, el: Element | None) -> datetime | None:
        return self.convert(
            el, parse_wire_timestamp, errors.DATE_INVALID, "not a valid timestamp"
        )

    # --- blocks ----------------------------------------------------------------------
    def organ(self, el: Element) -> Organ:
        values: dict[str, str] = {}
        by_name = children(el)
        self.once(by_name, "OrganId")  # the routing key: two would be two answers
        for name, kids in by_name.items():
            attr = ORGAN_FIELDS.get(name)
            if attr and attr not in values:
                values[attr] = self.text(kids[0])
        return Organ(**values) if "organ_id" in values else Organ(organ_id="", **values)

    def staff(self, el: Element | None) -> StaffInfo | None:
        if el is None:
            return None
        values = {
            STAFF_FIELDS[n]: self.text(k[0]) for n, k in children(el).items() if n in STAFF_FIELDS
        }
        return StaffInfo(**values)

    def response_for(self, el: Element) -> ResponseFor:
        k = children(el)
        self.once(k, "OrganId", "DocumentId")
        return ResponseFor(
            organ_id=self.field(k, "OrganId"),
            code=self.field(k, "Code"),
            promulgation_date=self.convert(
                self.first(k, "PromulgationDate"), parse_wire_date,
                errors.REFERENCED_DATE_INVALID, "impossible date",
            ),
            document_id=self.field(k, "DocumentId"),
        )

    def other_info(self, el: Element | None) -> OtherInfo:
        if el is None:
            return OtherInfo()
        k = children(el)
        self.once(k, "Priority")
        prio_el = self.first(k, "Priority")
        priority = Priority.NORMAL
        raw = self.text(prio_el)
        if prio_el is not None and raw:
            try:
                priority = Priority(ascii_int(raw))
            except ValueError:
                self.add(errors.PRIORITY_INVALID, f"Priority {raw!r}", prio_el)
        appendix_box = self.first(k, "Appendixes")
        appendixes = tuple(
            t for a in (children(appendix_box).get("Appendix", []) if appendix_box is not None
                        else []) if (t := self.text(a))
        )
        return OtherInfo(
            priority=priority,
            sphere=self.field(k, "SphereOfPromulgation"),
            typer_notation=self.field(k, "TyperNotation"),
            promulgation_amount=self.small_int(self.first(k, "PromulgationAmount")),
            page_amount=self.small_int(self.first(k, "PageAmount")),
            direction=self.field(k, "Direction"),
            appendixes=appendixes,
            secrecy=self.field(k, *SECRECY_FIELDS),
        )

    def business(self, el: Element) -> Business:
        k = children(el)
        self.once(k, "BussinessDocType|BusinessDocType", "DocumentId")
        type_el = self.first(k, "BussinessDocType", "BusinessDocType")
        doc_type = BusinessType.NEW
        raw = self.text(type_el)
        if type_el is not None and raw:
            try:
                doc_type = BusinessType(ascii_int(raw))
            except ValueError:
                self.add(errors.VALUE_INVALID, f"BussinessDocType {raw!r} not in 0–3", type_el)
        info_el = self.first(k, "BussinessDocumentInfo", "BusinessDocumentInfo")
        info = None
        if info_el is not None:
            ik = children(info_el)
            receivers: list[Receiver] = []
            box = self.first(ik, "ReceiverList")
            for r in children(box).get("Receiver", []) if box is not None else []:
                rk = children(r)
                receivers.append(Receiver(
                    organ_id=self.field(rk, "OrganId"),
                    receiver_type=self.small_int(self.first(rk, "ReceiverType")),
                ))
            info = BusinessDocumentInfo(
                document_info=self.small_int(self.first(ik, "DocumentInfo")),
                document_receiver=self.small_int(self.first(ik, "DocumentReceiver")),
                receivers=tuple(receivers),
            )
        replacements: list[ReplacementInfo] = []
        rbox = self.first(k, "ReplacementInfoList")
        for r in children(rbox).get("ReplacementInfo", []) if rbox is not None else []:
            rk = children(r)
            ids_box = self.first(rk, "OrganIdList")
            ids = tuple(
                t for o in (children(ids_box).get("OrganId", []) if ids_box is not None else [])
                if (t := self.text(o))
            )
            replacements.append(ReplacementInfo(self.field(rk, "DocumentId"), ids))
        return Business(
            doc_type=doc_type,
            reason=self.field(k, "BussinessDocReason", "BusinessDocReason"),
            document_id=self.field(k, "DocumentId"),
            paper=self.small_int(self.first(k, "Paper")),
            staff=self.staff(self.first(k, "StaffInfo")),
            document_info=info,
            replacements=tuple(replacements),
        )

    def trace_list(self, el: Element | None) -> tuple[tuple[TraceHeader, ...], Business | None]:
        if el is None:
            return (), None
        k = children(el)
        traces = []
        for t in k.get("TraceHeader", []):
            tk = children(t)
            organ = self.field(tk, "OrganId")
            if not organ or organ.lower() == "null":
                self.add(errors.TRACE_ORGAN_MISSING, "OrganId missing or 'null'", t)
                organ_id: str | None = None
            else:
                organ_id = organ
            traces.append(TraceHeader(organ_id, self.a_timestamp(self.first(tk, "Timestamp"))))
        self.once(k, "Bussiness|Business")
        b = self.first(k, "Bussiness", "Business")
        return tuple(traces), (self.business(b) if b is not None else None)

    # --- packages ----------------------------------------------------------------------
    def document_header(self, el: Element) -> DocumentHeader:
        k = children(el)
        sender = self.organ(k["From"][0]) if "From" in k else Organ(organ_id="")
        code_el = self.first(k, "Code")
        ck = children(code_el) if code_el is not None else {}
        promo = self.first(k, "PromulgationInfo")
        pk = children(promo) if promo is not None else {}
        dtype_el = self.first(k, "DocumentType")
        dtype = None
        if dtype_el is not None:
            dk = children(dtype_el)
            dtype = DocumentType(
                type=self.small_int(self.first(dk, "Type")),
                detail=self.small_int(self.first(dk, "TypeDetail")),
                name=self.field(dk, "TypeName"),
            )
        signer_el = self.first(k, "SignerInfo")
        signer = None
        if signer_el is not None:
            sk = children(signer_el)
            signer = SignerInfo(
                self.field(sk, "Competence"), self.field(sk, "Position"),
                self.field(sk, "FullName"),
            )
        places_el = self.first(k, "ToPlaces")
        places = tuple(
            t for p in (children(places_el).get("Place", []) if places_el is not None else [])
            if (t := self.text(p, "ToPlace"))
        )
        responses = tuple(
            self.response_for(r) for r in k.get("ResponseFor", []) if len(r)
        )
        return DocumentHeader(
            sender=sender,
            recipients=tuple(self.organ(t) for t in k.get("To", [])),
            document_id=self.field(k, "DocumentId"),
            code=DocCode(self.field(ck, "CodeNumber"), self.field(ck, "CodeNotation")),
            promulgation_place=self.field(pk, "Place"),
            promulgation_date=self.a_date(self.first(pk, "PromulgationDate")),
            document_type=dtype,
            subject=self.field(k, "Subject"),
            content=self.field(k, "Content"),
            signer=signer,
            due_date=self.a_date(self.first(k, "DueDate")),
            to_places=places,
            other=self.other_info(self.first(k, "OtherInfo")),
            response_for=responses,
            steering_type=self.small_int(self.first(k, "SteeringType")),
        )

    def status_header(self, el: Element) -> StatusHeader:
        k = children(el)
        sender = self.organ(k["From"][0]) if "From" in k else Organ(organ_id="")
        code_el = self.first(k, "StatusCode")
        raw = self.text(code_el)
        status = StatusCode.ARRIVED
        if code_el is None or not raw:
            self.add(errors.MISSING_ELEMENT, "StatusCode", code_el if code_el is not None else el)
        else:
            try:
                status = StatusCode(raw.zfill(2) if raw.isdigit() else raw)
            except ValueError:
                self.add(errors.STATUS_CODE_UNKNOWN, f"StatusCode {raw!r}", code_el)
        rf = self.first(k, "ResponseFor")
        return StatusHeader(
            sender=sender,
            response_for=self.response_for(rf) if rf is not None else ResponseFor(),
            status_code=status,
            staff=self.staff(self.first(k, "StaffInfo")),
            description=self.field(k, "Description"),
            timestamp=self.a_timestamp(self.first(k, "Timestamp")),
        )

    def manifest(self, body: Element | None) -> tuple[Reference, ...]:
        if body is None:
            return ()
        man = self.first(children(body), "edXMLManifest")
        refs = []
        for r in children(man).get("Reference", []) if man is not None else []:
            rk = children(r)
            self.once(rk, "ContentId", "ContentType")
            refs.append(Reference(
                content_id=strip_cid(self.field(rk, "ContentId")),
                content_type=self.field(rk, "ContentType"),
                attachment_name=self.field(rk, "AttachmentName"),
                description=self.field(rk, "Description"),
            ))
        return tuple(refs)

    def attachments(self, box: Element | None) -> tuple[Attachment, ...]:
        if box is None:
            return ()
        out = []
        items = children(box).get("Attachment", [])
        if len(items) > self.limits.max_attachments:
            self.add(errors.TOO_MANY_ELEMENTS,
                     f"{len(items)} attachments > {self.limits.max_attachments}", box)
            return ()
        for a in items:
            ak = children(a)
            self.once(ak, "ContentId", "ContentType", "ContentTransferEncoded")
            content_type = self.field(ak, "ContentType")
            enc = self.first(ak, "ContentTransferEncoded")
            meta = Attachment(
                content_id=strip_cid(self.field(ak, "ContentId")),
                name=self.field(ak, "AttachmentName"),
                content_type=content_type,
                description=self.field(ak, "Description"),
            )
            if enc is None:
                self.add(errors.MISSING_ELEMENT, "no ContentTransferEncoded", a)
                out.append(meta)
                continue
            encoded = enc.text or ""
            if self.release_text:
                # The tree's copy of the base64 goes as soon as Python holds its own, so a
                # large attachment never sits in memory three times (tree, str, bytes).
                enc.text = None
            info, found = att.inspect(encoded, content_type, self.limits)
            del encoded
            if found:
                where = element_path(enc)
                self.findings += [replace(f, path=where, line=line_of(enc)) for f in found]
            if info is not None:
                meta = Attachment(
                    content_id=meta.content_id, name=meta.name, content_type=content_type,
                    description=meta.description, size=info.size, sha256=info.sha256,
                    detected_type=info.detected_type, entries=info.entries,
                    data=info.data if self.keep_data else None,
                )
            out.append(meta)
        return tuple(out)


def envelope_parts(root: Element) -> tuple[Element, Element | None, Element | None]:
    """(edXMLHeader, edXMLBody, AttachmentEncoded) or `edxml.wrong_root`/schema errors."""
    if root.tag != f"{{{NS}}}edXML":
        raise errors.WRONG_ROOT.error(f"root is {root.tag}", line=line_of(root))
    rk = children(root)
    env = rk.get("edXMLEnvelope")
    if not env:
        raise errors.SCHEMA_INVALID.error("no edXMLEnvelope", path="/edXML")
    ek = children(env[0])
    header = ek.get("edXMLHeader")
    if not header:
        raise errors.SCHEMA_INVALID.error("no edXMLHeader", path="/edXML/edXMLEnvelope")
    body = ek.get("edXMLBody")
    box = rk.get("AttachmentEncoded")
    return header[0], body[0] if body else None, box[0] if box else None


def detect_kind(header: Element) -> tuple[Kind, Element]:
    hk = children(header)
    headers = hk.get("MessageHeader", []) + hk.get("Status", [])
    if len(headers) > 1:  # which one would the recipient read? refuse the ambiguity
        raise errors.SCHEMA_INVALID.error(
            f"{len(headers)} MessageHeader/Status blocks",
            path="/edXML/edXMLEnvelope/edXMLHeader", line=line_of(headers[1]),
        )
    if "Status" in hk:
        return Kind.STATUS, hk["Status"][0]
    mh = hk.get("MessageHeader")
    if not mh:
        raise errors.SCHEMA_INVALID.error(
            "no MessageHeader or Status", path="/edXML/edXMLEnvelope/edXMLHeader"
        )
    is_status = mh[0].find(_STATUS_CODE) is not None
    return (Kind.STATUS if is_status else Kind.EDOC), mh[0]


_STATUS_CODE = f"{{{NS}}}StatusCode"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parts of a package every stage looks at, found once."""

    header: Element
    body: Element | None
    box: Element | None
    kind: Kind
    message_header: Element


def open_envelope(root: Element) -> Envelope:
    """Raises `edxml.wrong_root` or `edxml.schema_invalid` for a tree that is not a package."""
    header, body, box = envelope_parts(root)
    kind, message_header = detect_kind(header)
    return Envelope(header, body, box, kind, message_header)


def read_tree(
    root: Element | Envelope, limits: EdxmlSettings, *, keep_data: bool = False,
    release_text: bool = False,
) -> tuple[Package, list[Finding]]:
    """The typed package and every finding (errors and warnings) met while reading.

    `release_text` empties each attachment's base64 in the tree once decoded: only for a
    tree the caller owns and will not read again.
    """
    env = root if isinstance(root, Envelope) else open_envelope(root)
    header, body, box, kind, message_header = (
        env.header, env.body, env.box, env.kind, env.message_header)
    reader = Reader(limits, keep_data, release_text)
    signature = probe_signature(header)
    if kind is Kind.STATUS:
        status = StatusPackage(header=reader.status_header(message_header), signature=signature)
        return status, reader.findings
    reader.once(children(header), "TraceHeaderList")
    traces, business = reader.trace_list(self_first(header, "TraceHeaderList"))
    doc = DocumentPackage(
        header=reader.document_header(message_header),
        traces=traces,
        business=business,
        references=reader.manifest(body),
        attachments=reader.attachments(box),
        signature=signature,
    )
    return doc, reader.findings


def self_first(el: Element, name: str) -> Element | None:
    found = children(el).get(name)
    return found[0] if found else None


__all__ = ["DSIG_NS", "SignatureState", "element_path", "read_tree", "strip_cid"]
