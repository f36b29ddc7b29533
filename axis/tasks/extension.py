"""Read and write the task extension of edXML packages (docs/tasks.md).

Where it sits: a `TaskList` (document) or `TaskEventList` (status package) element in the
extension's namespace, a child of edXML `MessageHeader`. Why there:

- inside the signed content: the package's enveloped signature has one whole-document
  reference, so the tasks are as signed as the subject and the recipients;
- ignored by receivers that do not know it: the node's edXML schemas accept foreign
  elements in MessageHeader (`xs:any namespace="##other"`), and the national SDK's parser
  reads MessageHeader children by local name and skips names it does not know;
- in both kinds of package: MessageHeader is the one block documents and status packages
  share (edXMLBody is absent from a status package; OtherInfo from a status's header);
- validated by the node: the edXML schemas import the extension's XSD and accept foreign
  elements with processContents="lax", so a malformed extension is refused at the schema
  stage (`edxml.schema_invalid`) while packages without it are untouched.

Rules the XSD cannot say are checked here (`task.extension_invalid`). The reader takes
bytes (parsed with the node's hardened parser) or a tree already parsed; the writer adds
the extension to a package's bytes before it is signed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from lxml import etree

from axis import errors
from axis.edxml import safexml
from axis.edxml.envelope import detect_kind, envelope_parts
from axis.edxml.model import DocumentHeader, Kind, SignatureState
from axis.edxml.signature_probe import probe_signature
from axis.edxml.xmltree import element_path, line_of
from axis.errors import Finding
from axis.packaged import SCHEMA_DIR
from axis.settings import EdxmlSettings
from axis.tasks.model import (
    REASON_REQUIRED,
    SCHEMA_FILE,
    TASK_CODE,
    TASKS_NS,
    TASKS_VERSION,
    Agency,
    EventType,
    Officer,
    TaskEntry,
    TaskEvent,
    TaskExtension,
)

Element = etree._Element
_T = "{" + TASKS_NS + "}"
TASK_LIST = _T + "TaskList"
EVENT_LIST = _T + "TaskEventList"
_LIMITS = EdxmlSettings()


@functools.cache
def schema() -> etree.XMLSchema:
    """The extension's own XSD, compiled once (lxml schemas are reentrant)."""
    try:
        return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / SCHEMA_FILE)))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise errors.CONFIG_INVALID.error(f"{SCHEMA_FILE}: {exc}") from exc


# --- reading ------------------------------------------------------------------------------


def read_extension(
    source: bytes | Element, *, limits: EdxmlSettings = _LIMITS
) -> TaskExtension:
    """The tasks or task events a package carries; empty when it carries none.

    Raises `task.extension_invalid` (every finding attached) for an extension that breaks
    its XSD or the rules beside it, and the parser's own codes for bytes that are not a
    safe edXML package.
    """
    root = safexml.parse(source, limits) if isinstance(source, bytes) else source
    header, _, _ = envelope_parts(root)
    kind, message_header = detect_kind(header)
    lists = [c for c in message_header.iterchildren(TASK_LIST, EVENT_LIST)]
    if not lists:
        return TaskExtension()
    findings: list[Finding] = []
    if len(lists) > 1:
        findings.append(_finding("more than one task list in MessageHeader", lists[1]))
    box = lists[0]
    expected = TASK_LIST if kind is Kind.EDOC else EVENT_LIST
    if box.tag != expected:
        findings.append(_finding(
            f"{etree.QName(box).localname} in a {kind.value} package "
            "(tasks travel in documents, task events in status packages)", box))
    findings += _schema_findings(box)
    if findings:
        _raise(findings)
    if box.tag == TASK_LIST:
        ext = TaskExtension(tasks=tuple(_task(t) for t in box.iterchildren(_T + "Task")),
                            version=box.get("version", TASKS_VERSION))
    else:
        ext = TaskExtension(events=tuple(_event(e) for e in box.iterchildren(_T + "Event")),
                            version=box.get("version", TASKS_VERSION))
    findings += _rules(ext, box)
    if findings:
        _raise(findings)
    return ext


def answered_tasks(header: DocumentHeader) -> tuple[str, ...]:
    """The task codes a reply names (`ResponseForTask/TaskCode`, Art. 13.3.b)."""
    return header.response_for_task


def _schema_findings(box: Element) -> list[Finding]:
    # Validated on a copy: XMLSchema validates a whole document, and the element's own
    # document is the edXML package.
    xsd = schema()
    if xsd.validate(etree.ElementTree(_copy(box))):
        return []
    return [
        errors.TASK_EXTENSION_INVALID.finding(e.message, path=element_path(box),
                                              line=line_of(box))
        for e in list(cast(Iterable[Any], xsd.error_log))[:10]
    ]


def _copy(el: Element) -> Element:
    return etree.fromstring(etree.tostring(el))


def _rules(ext: TaskExtension, box: Element) -> list[Finding]:
    out: list[Finding] = []
    seen: set[str] = set()
    for t in ext.tasks:
        if t.code in seen:
            out.append(_finding(f"task code {t.code!r} twice", box))
        seen.add(t.code)
        if t.lead.organ_id in {s.organ_id for s in t.supporting}:
            out.append(_finding(f"task {t.code!r}: the lead agency is also supporting", box))
    for e in ext.events:
        if e.type in REASON_REQUIRED and not e.reason:
            out.append(_finding(f"{e.type.value} for {e.task_code!r} without a Reason", box))
        if e.type is EventType.EXTENSION_APPROVED and e.new_deadline is None:
            out.append(_finding(f"extension-approved for {e.task_code!r} without NewDeadline",
                                box))
    return out


def _finding(detail: str, el: Element) -> Finding:
    return errors.TASK_EXTENSION_INVALID.finding(detail, path=element_path(el),
                                                 line=line_of(el))


def _raise(findings: list[Finding]) -> None:
    first = findings[0]
    raise errors.TASK_EXTENSION_INVALID.error(
        first.detail, path=first.path, line=first.line, findings=tuple(findings))


def _text(el: Element, name: str) -> str:
    found = el.find(_T + name)
    return (found.text or "").strip() if found is not None else ""


def _date(text: str) -> date:
    # xs:date, valid by the XSD: YYYY-MM-DD with an optional zone, read as a calendar day.
    return date.fromisoformat(text[:10])


def _agency(el: Element) -> Agency:
    return Agency(organ_id=_text(el, "OrganId"), name=_text(el, "OrganName"))


def _task(el: Element) -> TaskEntry:
    lead = el.find(_T + "Lead")
    follower = el.find(_T + "Follower")
    assert lead is not None and follower is not None  # required by the XSD
    return TaskEntry(
        code=_text(el, "Code"),
        content=_text(el, "Content"),
        lead=_agency(lead),
        supporting=tuple(_agency(s) for s in el.iterchildren(_T + "Supporting")),
        deadline=_date(_text(el, "Deadline")),
        follower=Officer(
            name=_text(follower, "Name"), staff_id=_text(follower, "StaffId"),
            department=_text(follower, "Department"), email=_text(follower, "Email"),
            telephone=_text(follower, "Telephone"),
        ),
    )


def _event(el: Element) -> TaskEvent:
    deadline = _text(el, "NewDeadline")
    return TaskEvent(
        task_code=_text(el, "TaskCode"),
        type=EventType(_text(el, "Type")),
        reason=_text(el, "Reason"),
        new_deadline=_date(deadline) if deadline else None,
        documents=tuple(t for d in el.iterchildren(_T + "DocumentId")
                        if (t := (d.text or "").strip())),
    )


# --- writing ------------------------------------------------------------------------------


def extension_element(ext: TaskExtension) -> Element:
    """The `TaskList` or `TaskEventList` element for `ext` (one of the two, not both)."""
    if bool(ext.tasks) == bool(ext.events):
        raise ValueError("an extension carries either tasks or events")
    if ext.tasks:
        box = etree.Element(TASK_LIST, nsmap={"tk": TASKS_NS})
        for t in ext.tasks:
            _write_task(etree.SubElement(box, _T + "Task"), t)
    else:
        box = etree.Element(EVENT_LIST, nsmap={"tk": TASKS_NS})
        for e in ext.events:
            _write_event(etree.SubElement(box, _T + "Event"), e)
    box.set("version", ext.version)
    return box


def add_extension(raw: bytes, ext: TaskExtension, *, limits: EdxmlSettings = _LIMITS) -> bytes:
    """The package's bytes with `ext` as the last child of its MessageHeader.

    For a package about to be signed: the signature must cover the tasks, so a package
    that is already signed is refused (ValueError) rather than silently invalidated. The
    result is read back with `read_extension`, so what is written always validates.
    """
    root = safexml.parse(raw, limits)
    header, _, _ = envelope_parts(root)
    if probe_signature(header) is SignatureState.PRESENT:
        # A placeholder may stay: signing replaces it (axis.trust.sign.NodeSigner).
        raise ValueError("the package is already signed: add the tasks, then sign")
    _, message_header = detect_kind(header)
    if next(message_header.iterchildren(TASK_LIST, EVENT_LIST), None) is not None:
        raise ValueError("the package already carries a task extension")
    message_header.append(extension_element(ext))
    read_extension(root, limits=limits)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def mint_code(issuer: str, issued_on: date, number: str, index: int) -> str:
    """A stable, printable code for the `index`-th task (from 1) of a document.

    `<issuer OrganId>-<yyyymmdd>-<CodeNumber>-<nn>`, e.g. `000.00.00.H37-20261201-123-01`:
    the document's number is unique in its issuer's register (Art. 12.2), so the code is
    unique as long as the document is. Characters outside the code's alphabet become `_`.
    Any other scheme is allowed on the wire: this is the node's and its tools' default.
    """
    safe = "".join(c if TASK_CODE.fullmatch("0" + c) else "_" for c in number.strip())
    code = f"{issuer.strip()}-{issued_on:%Y%m%d}-{safe}-{index:02d}"
    if not TASK_CODE.fullmatch(code):
        raise ValueError(f"cannot make a task code from {issuer!r}, {number!r}: {code!r}")
    return code


def _sub(parent: Element, name: str, text: str | None = None) -> Element:
    el = etree.SubElement(parent, _T + name)
    if text is not None:
        el.text = text
    return el


def _opt(parent: Element, name: str, text: str) -> None:
    if text:
        _sub(parent, name, text)


def _write_agency(parent: Element, name: str, a: Agency) -> None:
    el = _sub(parent, name)
    _sub(el, "OrganId", a.organ_id)
    _opt(el, "OrganName", a.name)


def _write_task(el: Element, t: TaskEntry) -> None:
    _sub(el, "Code", t.code)
    _sub(el, "Content", t.content)
    _write_agency(el, "Lead", t.lead)
    for s in t.supporting:
        _write_agency(el, "Supporting", s)
    _sub(el, "Deadline", t.deadline.isoformat())
    f = _sub(el, "Follower")
    _sub(f, "Name", t.follower.name)
    _opt(f, "StaffId", t.follower.staff_id)
    _opt(f, "Department", t.follower.department)
    _opt(f, "Email", t.follower.email)
    _opt(f, "Telephone", t.follower.telephone)


def _write_event(el: Element, e: TaskEvent) -> None:
    _sub(el, "TaskCode", e.task_code)
    _sub(el, "Type", e.type.value)
    _opt(el, "Reason", e.reason)
    if e.new_deadline is not None:
        _sub(el, "NewDeadline", e.new_deadline.isoformat())
    for d in e.documents:
        _sub(el, "DocumentId", d)
