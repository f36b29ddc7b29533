"""The task extension: its XSD, the examples of docs/tasks.md, reading and writing."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from tasks_support import DOC_ID, TAI_CHINH, UBND, assigning_document, assigning_package, entries

from axis import errors
from axis.edxml.model import (
    NS,
    DocumentPackage,
    Kind,
    Organ,
    ResponseFor,
    StatusCode,
    StatusHeader,
    StatusPackage,
)
from axis.edxml.schema import Schemas
from axis.edxml.validate import Validator
from axis.edxml.writer import build
from axis.errors import AxisError
from axis.settings import EdxmlSettings
from axis.tasks import extension
from axis.tasks.extension import add_extension, mint_code, read_extension
from axis.tasks.model import (
    STATUS_FOR_EVENT,
    TASK_CODE,
    TASKS_NS,
    EventType,
    TaskEvent,
    TaskExtension,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "tasks.md"
VALIDATOR = Validator(EdxmlSettings())
SCHEMAS = Schemas()
T = "{" + TASKS_NS + "}"


def _examples() -> list[str]:
    return re.findall(r"```xml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def _message_header(root: etree._Element) -> etree._Element:
    found = root.find(f".//{{{NS}}}MessageHeader")
    assert found is not None
    return found


def _status(events: tuple[TaskEvent, ...], sender: str = TAI_CHINH) -> bytes:
    package = StatusPackage(StatusHeader(
        sender=Organ(sender), response_for=ResponseFor(organ_id=UBND, document_id=DOC_ID),
        status_code=STATUS_FOR_EVENT[events[0].type], description=events[0].reason))
    return add_extension(build(package), TaskExtension(events=events))


def test_docs_have_examples_of_every_kind() -> None:
    roots = [etree.QName(etree.fromstring(x.encode())).localname for x in _examples()]
    assert roots.count("TaskList") >= 1 and roots.count("TaskEventList") >= 3
    assert "edXML" in roots and "ResponseForTask" in roots


@pytest.mark.parametrize("example", _examples(), ids=lambda x: x.split("\n")[0][:40])
def test_every_example_in_docs_validates(example: str) -> None:
    root = etree.fromstring(example.encode())
    name = etree.QName(root)
    if name.namespace == TASKS_NS:
        assert extension.schema().validate(etree.ElementTree(root)), extension.schema().error_log
        # … and passes the rules beside the XSD, read in the package it belongs in.
        holder = (build(assigning_document()) if name.localname == "TaskList"
                  else build(StatusPackage(StatusHeader(
                      sender=Organ(TAI_CHINH), response_for=ResponseFor(UBND, document_id=DOC_ID),
                      status_code=StatusCode.IN_PROGRESS))))
        tree = etree.fromstring(holder)
        _message_header(tree).append(root)
        assert not read_extension(tree).empty
    elif name.localname == "edXML":
        assert SCHEMAS.validate(root, Kind.EDOC) == []
        assert [t.code for t in read_extension(root).tasks] == [
            "000.00.00.H37-20261201-123-01"]
    else:  # ResponseForTask: in a reply's MessageHeader
        reply = etree.fromstring(build(assigning_document()))
        _message_header(reply).append(root)
        result = VALIDATOR.check(etree.tostring(reply))
        assert result.valid, result.errors
        assert isinstance(result.package, DocumentPackage)
        assert result.package.header.response_for_task == ("000.00.00.H37-20261201-123-01",)


def test_tasks_round_trip_and_pass_the_node_checks() -> None:
    raw = assigning_package()
    result = VALIDATOR.check(raw)
    assert result.valid, result.errors
    assert result.warnings == ()
    assert read_extension(raw) == TaskExtension(tasks=entries())
    # A receiver that ignores the extension reads the very same document.
    plain = VALIDATOR.check(build(assigning_document()))
    assert plain.package == result.package


def test_events_round_trip_in_a_status_package() -> None:
    code = entries()[0].code
    events = (
        TaskEvent(code, EventType.EXTENSION_REQUESTED, reason="Chờ số liệu",
                  new_deadline=date(2026, 12, 31), documents=("000.00.03.H37,2026/12/10,4/STC",)),
        TaskEvent(entries()[1].code, EventType.RECEIVED),
    )
    raw = _status(events)
    result = VALIDATOR.check(raw)
    assert result.valid, result.errors
    assert read_extension(raw) == TaskExtension(events=events)


def test_a_reply_names_its_tasks_with_response_for_task() -> None:
    codes = tuple(e.code for e in entries()[:2])
    header = replace(assigning_document().header, sender=Organ(TAI_CHINH),
                     recipients=(Organ(UBND),), response_for_task=codes,
                     response_for=(ResponseFor(UBND, document_id=DOC_ID),))
    raw = build(DocumentPackage(header=header))
    assert raw.count(b"<edXML:ResponseForTask>") == 1 and raw.count(b"<edXML:TaskCode>") == 2
    result = VALIDATOR.check(raw)
    assert isinstance(result.package, DocumentPackage), result.errors
    assert extension.answered_tasks(result.package.header) == codes


def test_a_package_without_the_extension_reads_empty() -> None:
    assert read_extension(build(assigning_document())).empty


def test_a_malformed_extension_is_refused_by_the_node_schema() -> None:
    raw = assigning_package().replace(b"<tk:Deadline>2026-12-15", b"<tk:Deadline>2026-12-32")
    result = VALIDATOR.check(raw)
    assert [f.code.id for f in result.errors][:1] == ["edxml.schema_invalid"]
    with pytest.raises(AxisError) as err:
        read_extension(raw)
    assert err.value.code is errors.TASK_EXTENSION_INVALID


def _refused(raw: bytes, fragment: str) -> None:
    with pytest.raises(AxisError) as err:
        read_extension(raw)
    assert err.value.code is errors.TASK_EXTENSION_INVALID
    assert fragment in " ".join(f.detail for f in err.value.findings)


def test_rules_beside_the_xsd() -> None:
    one = entries()[0]
    doc = build(assigning_document())
    _refused(add_extension_unchecked(doc, TaskExtension(tasks=(one, one))), "twice")
    lead_supports = replace(one, supporting=(one.lead,))
    _refused(add_extension_unchecked(doc, TaskExtension(tasks=(lead_supports,))),
             "also supporting")
    _refused(add_extension_unchecked(doc, TaskExtension(
        events=(TaskEvent(one.code, EventType.RECEIVED),))), "in a edoc package")
    for event, why in (
        (TaskEvent(one.code, EventType.RETURNED), "without a Reason"),
        (TaskEvent(one.code, EventType.SUPPORT_REFUSED), "without a Reason"),
        (TaskEvent(one.code, EventType.EXTENSION_APPROVED, documents=("d",)), "NewDeadline"),
    ):
        status = build(StatusPackage(StatusHeader(
            Organ(TAI_CHINH), ResponseFor(UBND, document_id=DOC_ID), StatusCode.IN_PROGRESS)))
        _refused(add_extension_unchecked(status, TaskExtension(events=(event,))), why)


def add_extension_unchecked(raw: bytes, ext: TaskExtension) -> bytes:
    """What a careless producer could send: the element appended without the writer's
    read-back check."""
    root = etree.fromstring(raw)
    _message_header(root).append(extension.extension_element(ext))
    return bytes(etree.tostring(root))


def test_the_writer_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="either tasks or events"):
        extension.extension_element(TaskExtension())
    raw = assigning_package()
    with pytest.raises(ValueError, match="already carries"):
        add_extension(raw, TaskExtension(tasks=entries()))
    # The writer reads back what it wrote: an invalid extension never leaves it.
    with pytest.raises(AxisError):
        add_extension(build(assigning_document()),
                      TaskExtension(tasks=(replace(entries()[0], code="bad code"),)))


def test_minted_codes_are_printable_and_stable() -> None:
    code = mint_code(UBND, date(2026, 12, 1), "123", 1)
    assert code == "000.00.00.H37-20261201-123-01"
    assert mint_code(UBND, date(2026, 12, 1), "01/2026 Đ", 12) == (
        "000.00.00.H37-20261201-01/2026__-12")
    assert TASK_CODE.fullmatch(mint_code(UBND, date(2026, 1, 2), "x" * 30, 3))
    with pytest.raises(ValueError):
        mint_code(UBND, date(2026, 1, 2), "x" * 60, 1)
