"""Property: any package the builder writes is read back equal (issue 2)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axis.clock import VN_TZ
from axis.edxml.model import (
    Attachment,
    Business,
    BusinessDocumentInfo,
    BusinessType,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    Organ,
    OtherInfo,
    Package,
    Priority,
    Receiver,
    Reference,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusHeader,
    StatusPackage,
    TraceHeader,
)
from axis.edxml.validate import Validator
from axis.edxml.writer import build
from axis.settings import EdxmlSettings

VALIDATOR = Validator(EdxmlSettings())

# XML 1.0 characters, no surrogates or controls; stored precomposed (NFC) and stripped,
# which is what the reader gives back.
_chars = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn"), exclude_characters="\ufffe\uffff"
)


def _clean(s: str) -> str:
    return unicodedata.normalize("NFC", s).strip()


def text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(_chars, max_size=max_size).map(_clean).filter(lambda s: len(s) <= max_size)


organ_ids = st.from_regex(r"\A\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z")
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
stamps = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)
).map(lambda d: d.replace(microsecond=0, tzinfo=VN_TZ))
small = st.integers(min_value=0, max_value=99)

organs = st.builds(
    Organ, organ_id=organ_ids, name=text(), in_charge=text(), address=text(),
    email=text(), telephone=text(), fax=text(), website=text(),
)
staffs = st.builds(
    StaffInfo, department=text(), staff=text(), email=text(), mobile=text(),
    department_id=text(), staff_id=text(),
)
responses = st.builds(
    ResponseFor, organ_id=organ_ids, code=text(), promulgation_date=st.none() | dates,
    document_id=text(),
)
headers = st.builds(
    DocumentHeader,
    sender=organs,
    recipients=st.lists(organs, min_size=1, max_size=4).map(tuple),
    document_id=text().filter(bool),
    code=st.builds(DocCode, number=text(11).filter(bool), notation=text(30)),
    promulgation_place=text(50),
    promulgation_date=dates,
    document_type=st.none() | st.builds(DocumentType, type=st.none() | small,
                                        detail=st.none() | small, name=text()),
    subject=text(500).filter(bool),
    content=text(500),
    signer=st.none() | st.builds(SignerInfo, competence=text(), position=text(),
                                 full_name=text()),
    due_date=st.none() | dates,
    to_places=st.lists(text(150).filter(bool), max_size=3).map(tuple),
    other=st.builds(
        OtherInfo, priority=st.sampled_from(Priority), sphere=text(100),
        typer_notation=text(10), promulgation_amount=st.none() | small,
        page_amount=st.none() | small, direction=text(),
        appendixes=st.lists(text().filter(bool), max_size=2).map(tuple),
    ),
    response_for=st.lists(responses, max_size=2).map(tuple),
    steering_type=st.none() | small,
)
businesses = st.builds(
    Business, doc_type=st.sampled_from(BusinessType), reason=text(), document_id=text(),
    paper=st.none() | st.integers(0, 1), staff=st.none() | staffs,
    document_info=st.none() | st.builds(
        BusinessDocumentInfo, document_info=st.none() | st.integers(0, 1),
        document_receiver=st.none() | st.integers(0, 1),
        receivers=st.lists(st.builds(Receiver, organ_id=organ_ids,
                                     receiver_type=st.none() | st.integers(0, 1)),
                           max_size=3).map(tuple),
    ),
    replacements=st.lists(st.builds(
        ReplacementInfo, document_id=text().filter(bool),
        organ_ids=st.lists(organ_ids, min_size=1, max_size=2).map(tuple)), max_size=2,
    ).map(tuple),
)
traces = st.builds(TraceHeader, organ_id=st.none() | organ_ids, timestamp=st.none() | stamps)


@st.composite
def documents(draw: st.DrawFn) -> DocumentPackage:
    n = draw(st.integers(0, 3))
    payloads = draw(st.lists(st.binary(max_size=300), min_size=n, max_size=n))
    refs, atts = [], []
    for i, data in enumerate(payloads):
        cid = f"part-{i}"
        name = draw(text(60))
        refs.append(Reference(cid, "text/plain", name, ""))
        atts.append(Attachment(content_id=cid, name=name, content_type="text/plain", data=data))
    return DocumentPackage(
        header=draw(headers),
        traces=tuple(draw(st.lists(traces, max_size=3))),
        business=draw(st.none() | businesses),
        references=tuple(refs),
        attachments=tuple(atts),
    )


statuses = st.builds(
    StatusPackage,
    header=st.builds(
        StatusHeader, sender=organs, response_for=responses,
        status_code=st.sampled_from(StatusCode), staff=st.none() | staffs,
        description=text(200), timestamp=st.none() | stamps,
    ),
)


def _comparable(p: Package) -> Package:
    """Attachment metadata the reader computes (size, hash, type) is not the builder's."""
    if isinstance(p, StatusPackage):
        return p
    atts = tuple(
        Attachment(a.content_id, a.name, a.content_type, a.description, data=a.data)
        for a in p.attachments
    )
    return DocumentPackage(p.header, p.traces, p.business, p.references, atts, p.signature)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents() | statuses)
def test_built_package_reads_back_equal(package: Package) -> None:
    raw = build(package)
    result = VALIDATOR.check(raw, keep_data=True)
    assert result.package is not None, result.errors
    assert _comparable(result.package) == _comparable(package)
    for original, read in zip(getattr(package, "attachments", ()),
                              getattr(result.package, "attachments", ()), strict=True):
        assert read.data == original.data
        assert read.size == len(original.data or b"")
    # Building again from what was read gives the same bytes: the builder is canonical.
    assert build(result.package) == raw


def test_built_fixture_like_package_is_valid() -> None:
    doc = DocumentPackage(
        header=DocumentHeader(
            sender=Organ("000.00.00.H37", name="UBND tỉnh Lạng Sơn"),
            recipients=(Organ("000.00.01.H37", name="Văn phòng UBND tỉnh"),),
            document_id="000.00.00.H37,2026/11/24,123/UBND-VP",
            code=DocCode("123", "UBND-VP"),
            promulgation_date=date(2026, 11, 24),
            subject="V/v triển khai trục liên thông văn bản nội tỉnh",
        ),
        references=(Reference("a1", "text/plain", "ghi-chu.txt"),),
        attachments=(Attachment("a1", "ghi-chu.txt", "text/plain", data="Nội dung".encode()),),
    )
    result = VALIDATOR.check(build(doc))
    assert result.valid, result.errors
    assert result.warnings == ()
