"""Robustness properties of the reader: hostile bytes are reported, never crash it.

`Validator.check` must never raise on any input (it reports the sender's faults);
`Validator.validate` must only ever raise `AxisError`, with the code `check` reports.
Inputs: arbitrary bytes, and real fixtures damaged by flips, truncations, deletions and
insertions of markup that is dangerous in XML (`<`, `&`, `]]>`, `<!DOCTYPE`, …). Zip
attachments get the same treatment one level down.
"""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axis.edxml import attachments
from axis.edxml.model import ParsedPackage
from axis.edxml.validate import CheckResult, Validator
from axis.errors import CATALOGUE, AxisError, Severity
from axis.settings import EdxmlSettings

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "edxml"
# The small real packages (the 360 KB ones would make every example slow).
BASES = {
    name: (FIXTURES / name).read_bytes()
    for name in ("status-01.edxml", "status-02.edxml", "edoc-2019-small.edxml",
                 "edoc-business-first-zipped.edxml")
}
LIMITS = EdxmlSettings()
VALIDATOR = Validator(LIMITS)
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TOKENS = [
    b"<", b">", b"&", b"]]>", b"<!DOCTYPE edXML>", b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b"&a;", b"&#0;", b"&#x110000;", b"<![CDATA[", b"-->", b"<!--", b"<?pi x?>",
    b'<?xml version="1.0"?>', b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b'"', b"'",
    b"xmlns=\"urn:x\"", b"<edXML:To>", b"</edXML:From>", b"<x:y>", b"=", b"PK\x03\x04",
    b"\n", b"cid:",
]


@st.composite
def damaged_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate"]))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 64))]
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 256))]
    return bytes(data)


def assert_consistent(raw: bytes, result: CheckResult) -> None:
    """A well-formed report, and `validate` agrees with `check`."""
    assert result.valid == (not result.errors)
    for f in result.errors:
        assert f.code.severity is Severity.ERROR and f.code.id in CATALOGUE
    for f in result.warnings:
        assert f.code.severity is Severity.WARNING and f.code.id in CATALOGUE
    if result.valid:
        assert result.package is not None
    try:
        parsed = VALIDATOR.validate(raw)
    except AxisError as exc:
        assert not result.valid
        assert exc.code is result.errors[0].code
    else:
        assert result.valid and isinstance(parsed, ParsedPackage)
        assert parsed.package == result.package


@FUZZ
@given(st.binary(max_size=4096))
def test_check_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    result = VALIDATOR.check(raw)
    assert not result.valid  # random bytes are never an edXML package
    assert_consistent(raw, result)


@FUZZ
@given(st.binary(max_size=512).map(lambda b: b'<?xml version="1.0" encoding="UTF-8"?>\n' + b))
def test_check_never_raises_after_a_valid_prolog(raw: bytes) -> None:
    assert_consistent(raw, VALIDATOR.check(raw))


@FUZZ
@given(damaged_fixture())
def test_check_never_raises_on_damaged_fixtures(raw: bytes) -> None:
    assert_consistent(raw, VALIDATOR.check(raw))


@FUZZ
@given(st.text(max_size=300))
def test_text_inside_a_field_is_reported_not_raised(text: str) -> None:
    """Any Unicode in the Description of a real status: escaped or not, never a crash."""
    base = BASES["status-01.edxml"].decode("utf-8")
    start = base.index("<edXML:Description>") + len("<edXML:Description>")
    end = base.index("</edXML:Description>")
    raw = (base[:start] + text + base[end:]).encode("utf-8", "surrogatepass")
    assert_consistent(raw, VALIDATOR.check(raw))


def _zip(entries: list[tuple[str, bytes]], method: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


ZIPS = [
    _zip([("a.txt", b"hello world " * 80)], zipfile.ZIP_DEFLATED),
    _zip([("mimetype", b"application/vnd.oasis.opendocument.text"),
          ("content.xml", b"<office:document/>" * 40)], zipfile.ZIP_DEFLATED),
    _zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>" * 200)],
         zipfile.ZIP_DEFLATED),
    _zip([("a.txt", b"stored")], zipfile.ZIP_STORED),
    _zip([("b.txt", b"bzip2 " * 100)], zipfile.ZIP_BZIP2),
    _zip([("c.txt", b"lzma " * 100)], zipfile.ZIP_LZMA),
]


@st.composite
def damaged_zip(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(ZIPS)))
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[i] = draw(st.integers(0, 255))
        else:
            del data[i : i + draw(st.integers(1, 16))]
        if not data:
            break
    return bytes(data)


@FUZZ
@given(damaged_zip(), st.sampled_from(["application/zip", "application/pdf", ""]))
def test_attachment_inspection_never_raises_on_damaged_zips(data: bytes, declared: str) -> None:
    info, findings = attachments.inspect(base64.b64encode(data).decode(), declared, LIMITS)
    assert info is not None, "valid base64 always decodes"
    assert info.size == len(data)
    for f in findings:
        assert f.code.id.startswith("edxml.") and f.code.severity is Severity.ERROR


@FUZZ
@given(st.text(alphabet="ABCDEFabcdef0123456789+/=\n\r\t !#-_é", max_size=200))
def test_base64_decoding_only_raises_value_error(text: str) -> None:
    try:
        data = attachments.decode_base64(text)
    except ValueError:
        return
    assert base64.b64decode("".join(text.split()), validate=True) == data
