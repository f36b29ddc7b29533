"""Read a parsed edXML tree into frozen values, collecting findings as it goes.

Liberal in what it accepts (spec §1–§5): any sibling order, both `Bussiness`/`Business`
and `OrganizationInCharge`/`OrganInCharge`, both status wrappers, `cid:` on either side,
empty elements, vendor children. Field-level problems become findings with the element
path and line; only a tree that is not an edXML package at all raises.
"""

from __future__ import annotations

from typing import TypeVar

from lxml import etree

from axis import errors
from axis.clock import parse_wire_date
from axis.edxml.envelope import Envelope, detect_kind, envelope_parts, open_envelope
from axis.edxml.manifest import ManifestReader
from axis.edxml.model import (
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
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusHeader,
    StatusPackage,
    TraceHeader,
)
from axis.edxml.safexml import Lifted
from axis.edxml.signature_probe import probe_signature
from axis.edxml.xmltree import (
    ascii_int,
    children,
    element_path,
    line_of,
    local,
    self_first,
    strip_cid,
)
from axis.errors import Finding
from axis.settings import EdxmlSettings

Element = etree._Element
T = TypeVar("T")

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


class Reader(ManifestReader):
    """Reads the blocks of a package into frozen values."""

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
            response_for_task=tuple(dict.fromkeys(
                t for box in k.get("ResponseForTask", [])
                for c in children(box).get("TaskCode", []) if (t := self.text(c))
            )),
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


def read_tree(
    root: Element | Envelope, limits: EdxmlSettings, *, keep_data: bool = False,
    release_text: bool = False, lifted: Lifted | None = None,
) -> tuple[Package, list[Finding]]:
    """The typed package and every finding (errors and warnings) met while reading.

    `release_text` empties each attachment's base64 in the tree once decoded: only for a
    tree the caller owns and will not read again. `lifted`: the attachment texts the
    parser left in the package bytes (`safexml.parse_lifted`), read from there.
    """
    env = root if isinstance(root, Envelope) else open_envelope(root)
    header, body, box, kind, message_header = (
        env.header, env.body, env.box, env.kind, env.message_header)
    reader = Reader(limits, keep_data, release_text)
    reader.lifted = lifted
    signature = probe_signature(header)
    if kind is Kind.STATUS:
        status = StatusPackage(header=reader.status_header(message_header), signature=signature)
        return status, reader.findings
    reader.once(children(header), "TraceHeaderList")
    traces, business = reader.trace_list(self_first(header, "TraceHeaderList"))
    header_block = reader.document_header(message_header)
    references = reader.manifest(body)
    attachments = reader.attachments(box)
    reader.reference_types(references, attachments)
    doc = DocumentPackage(
        header=header_block,
        traces=traces,
        business=business,
        references=references,
        attachments=attachments,
        signature=signature,
    )
    return doc, reader.findings


__all__ = [
    "Envelope", "Reader", "children", "detect_kind", "element_path", "envelope_parts",
    "line_of", "local", "open_envelope", "read_tree", "strip_cid",
]
