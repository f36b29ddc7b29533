"""Cross-field rules the XSD cannot say (spec §1, §2, §5, §7a).

Errors refuse the package; warnings (untidy but usable, spec §7a) let it through and are
reported beside it.
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

from axis import errors
from axis.edxml.identifiers import (
    agency_id_shape_ok,
    document_id_date_invalid,
    parse_document_id,
)
from axis.edxml.model import (
    BusinessType,
    DocumentPackage,
    Package,
    StatusCode,
    StatusPackage,
)
from axis.edxml.reader import children, line_of
from axis.errors import Code, Finding

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
MANIFEST = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"
ATTACHMENTS = "/edXML/AttachmentEncoded"
BUSINESS = "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness"


def _f(code: Code, detail: str, path: str) -> Finding:
    return code.finding(detail, path=path)


def cardinality(message_header: etree._Element, package: Package) -> list[Finding]:
    """Elements the XSD's order-free choices cannot count: at most one of each."""
    kids = children(message_header)
    once = ["From", "DocumentId", "Code", "PromulgationInfo", "Subject", "StatusCode",
            "OtherInfo", "DueDate", "Description", "Timestamp"]
    if isinstance(package, StatusPackage):
        once.append("ResponseFor")
    return [
        errors.SCHEMA_INVALID.finding(
            f"{name} occurs {len(kids[name])} times", path=f"{HEADER}/{name}",
            line=line_of(kids[name][1]),
        )
        for name in once
        if len(kids.get(name, [])) > 1
    ]


def _identifier_warnings(ids: list[tuple[str, str]]) -> list[Finding]:
    return [
        _f(errors.IDENTIFIER_SHAPE, f"{organ_id!r}", path)
        for organ_id, path in ids
        if organ_id and not agency_id_shape_ok(organ_id)
    ]


def document_rules(doc: DocumentPackage) -> list[Finding]:
    out: list[Finding] = []
    h = doc.header
    if not h.sender.organ_id:
        out.append(_f(errors.MISSING_ELEMENT, "From/OrganId", f"{HEADER}/From"))
    if not h.recipients:
        out.append(_f(errors.MISSING_RECIPIENT, "no To", HEADER))
    for i, r in enumerate(h.recipients, 1):
        if not r.organ_id:
            out.append(_f(errors.MISSING_ELEMENT, "To/OrganId", f"{HEADER}/To[{i}]"))
    for name, value in (("DocumentId", h.document_id), ("Subject", h.subject),
                        ("Code/CodeNumber", h.code.number)):
        if not value:
            out.append(_f(errors.MISSING_ELEMENT, name, f"{HEADER}/{name}"))
    if h.promulgation_date is None:
        out.append(_f(errors.MISSING_ELEMENT, "PromulgationInfo/PromulgationDate",
                      f"{HEADER}/PromulgationInfo"))
    # Spec §3: an update names its document in Bussiness/DocumentId, a replace in
    # ReplacementInfoList/ReplacementInfo/DocumentId (or, from older producers, in
    # Bussiness/DocumentId).
    if doc.business_type is BusinessType.UPDATE and not doc.target_document_ids:
        out.append(_f(errors.MISSING_ELEMENT,
                      "Bussiness/DocumentId: the document updated", BUSINESS))
    if doc.business_type is BusinessType.REPLACE and not doc.target_document_ids:
        out.append(_f(errors.MISSING_ELEMENT,
                      "ReplacementInfoList/ReplacementInfo/DocumentId: the document replaced",
                      BUSINESS))
    out += _attachment_rules(doc)
    # Warnings (spec §7a).
    ref = parse_document_id(h.document_id)
    if ref is not None:
        mismatches = []
        if ref.issuer != h.sender.organ_id:
            mismatches.append(f"issuer {ref.issuer} ≠ From {h.sender.organ_id}")
        if ref.issued_on is not None and h.promulgation_date is not None and (
            ref.issued_on != h.promulgation_date
        ):
            mismatches.append(f"date {ref.issued_on} ≠ PromulgationDate {h.promulgation_date}")
        if ref.number and h.code.number and ref.number != h.code.number:
            mismatches.append(f"number {ref.number} ≠ CodeNumber {h.code.number}")
        if ref.issued_on is None:
            mismatches.append("impossible date")
        if mismatches:
            out.append(_f(errors.DOCUMENT_ID_MISMATCH, "; ".join(mismatches),
                          f"{HEADER}/DocumentId"))
    referenced = [(r.document_id, f"{HEADER}/ResponseFor") for r in h.response_for]
    if doc.business and doc.business.document_id:
        referenced.append((doc.business.document_id, BUSINESS))
    if doc.business:
        referenced += [(r.document_id, f"{BUSINESS}/ReplacementInfoList")
                       for r in doc.business.replacements if r.document_id]
    out += [
        _f(errors.REFERENCED_DATE_INVALID, document_id, path)
        for document_id, path in referenced
        if document_id_date_invalid(document_id)
    ]
    ids = [(h.sender.organ_id, f"{HEADER}/From/OrganId")]
    ids += [(r.organ_id, f"{HEADER}/To[{i}]/OrganId") for i, r in enumerate(h.recipients, 1)]
    ids += [(r.organ_id, f"{HEADER}/ResponseFor/OrganId") for r in h.response_for]
    out += _identifier_warnings(ids)
    return out


def _attachment_rules(doc: DocumentPackage) -> list[Finding]:
    out: list[Finding] = []
    ref_ids = Counter(r.content_id for r in doc.references)
    att_ids = Counter(a.content_id for a in doc.attachments)
    if "" in ref_ids or "" in att_ids:
        # An empty ContentId joins nothing to anything: the one-to-one rule needs ids.
        where = MANIFEST if "" in ref_ids else ATTACHMENTS
        out.append(_f(errors.MISSING_ELEMENT, "empty ContentId", where))
    for cid, n in (ref_ids + att_ids).items():
        if ref_ids[cid] > 1 or att_ids[cid] > 1:
            out.append(_f(errors.DUPLICATE_CONTENT_ID, f"ContentId {cid!r} used {n} times",
                          MANIFEST))
    for cid in ref_ids.keys() - att_ids.keys():
        out.append(_f(errors.REFERENCE_WITHOUT_ATTACHMENT, f"ContentId {cid!r}", MANIFEST))
    for cid in att_ids.keys() - ref_ids.keys():
        out.append(_f(errors.ATTACHMENT_WITHOUT_REFERENCE, f"ContentId {cid!r}", ATTACHMENTS))
    declared = {r.content_id: r.content_type for r in doc.references}
    for a in doc.attachments:
        ref_type = declared.get(a.content_id, "")
        if ref_type and a.content_type and ref_type.lower() != a.content_type.lower():
            out.append(_f(errors.MANIFEST_TYPE_DIFFERS,
                          f"{a.content_id}: manifest {ref_type}, attachment {a.content_type}",
                          MANIFEST))
    return out


def status_rules(st: StatusPackage) -> list[Finding]:
    out: list[Finding] = []
    h = st.header
    if not h.sender.organ_id:
        out.append(_f(errors.MISSING_ELEMENT, "From/OrganId", f"{HEADER}/From"))
    if not h.response_for.organ_id:
        out.append(_f(errors.MISSING_ELEMENT, "ResponseFor/OrganId", f"{HEADER}/ResponseFor"))
    if not h.response_for.document_id:
        out.append(_f(errors.MISSING_ELEMENT, "ResponseFor/DocumentId",
                      f"{HEADER}/ResponseFor"))
    if h.status_code is StatusCode.REFUSED and not h.description:
        out.append(_f(errors.REFUSAL_REASON_MISSING, "StatusCode 02 without Description",
                      f"{HEADER}/Description"))
    if document_id_date_invalid(h.response_for.document_id):
        out.append(_f(errors.REFERENCED_DATE_INVALID, h.response_for.document_id,
                      f"{HEADER}/ResponseFor/DocumentId"))
    out += _identifier_warnings([
        (h.sender.organ_id, f"{HEADER}/From/OrganId"),
        (h.response_for.organ_id, f"{HEADER}/ResponseFor/OrganId"),
    ])
    return out


def package_rules(package: Package) -> list[Finding]:
    if isinstance(package, StatusPackage):
        return status_rules(package)
    return document_rules(package)
