"""Attachment names (issue 8, item 13) and attachment types (item 14), as classes.

Names: recipient systems save files by `AttachmentName` (and some by `Description`), on
the manifest side and the attachment side alike. Any name that carries a path or a
control character is refused (`edxml.attachment_name_unsafe`); a deceptive one is
reported (`edxml.attachment_name_deceptive`). Types: the declared type, the name's
extension and the bytes must all be Art. 4.3 types and agree (filetypes.py).

The golden corpus (tests/cases/edxml) holds one package per example; the properties
below generate the rest of each class from the clean base packages of that corpus.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axis import errors
from axis.edxml import filenames, filetypes
from axis.edxml.validate import CheckResult, Validator
from axis.settings import DEFAULT_ALLOWED_TYPES, EdxmlSettings

CASES = Path(__file__).resolve().parent / "cases" / "edxml"
ZIP_BASE = (CASES / "ok-edoc-clean-base.edxml").read_text(encoding="utf-8")  # zip container
PDF_BASE = (CASES / "ok-pdf-attachment.edxml").read_text(encoding="utf-8")  # a real PDF
NAME = "GUIDE_INSTALL OPENVPN.SIGNED.PDF"
VALIDATOR = Validator(EdxmlSettings())
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Where a name can stand: (opening tag, closing tag) of the four name fields.
ATT_NAME = ("<AttachmentName>", "</AttachmentName>")
REF_NAME = ("<edXML:AttachmentName>", "</edXML:AttachmentName>")
ATT_DESC = ("<Description>", "</Description>")
REF_DESC = ("<edXML:Description>", "</edXML:Description>")


def xml_text(value: str) -> str:
    """`value` as XML character data: markup characters and controls as references."""
    out = []
    for ch in value:
        if ch in "&<>":
            out.append(f"&#{ord(ch)};")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def with_name(value: str, where: tuple[str, str], base: str = ZIP_BASE) -> bytes:
    start, end = where
    text = xml_text(value)
    if where in (ATT_NAME, REF_NAME):
        old = f"{start}{NAME}{end}"
        assert base.count(old) == 1
        return base.replace(old, f"{start}{text}{end}").encode("utf-8")
    # Descriptions are added after the name on the same side.
    after = ATT_NAME if where == ATT_DESC else REF_NAME
    old = f"{after[0]}{NAME}{after[1]}"
    return base.replace(old, f"{old}{start}{text}{end}").encode("utf-8")


def codes(result: CheckResult) -> set[str]:
    return {f.code.id for f in result.errors}


def warnings(result: CheckResult) -> set[str]:
    return {f.code.id for f in result.warnings}


# --- item 13: names -----------------------------------------------------------------------

SAFE = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             " -_()[]+,;=!#@'~áàảãạăắằẳẵặâấầẩẫậđéèẻẽẹêếềểễệíìỉĩịóòỏõọ"
                             "ôốồổỗộơớờởỡợúùủũụưứừửữựýỳỷỹỵĐ"),
    min_size=1, max_size=40,
).map(lambda s: unicodedata.normalize("NFC", s)).filter(
    lambda s: s.strip(" ") != "" and filenames.unsafe_file_name(s + ".pdf") is None)

# Every character that is legal in XML 1.0 but a control: C0 that XML allows inside
# text, DEL, all of C1, and the Unicode line and paragraph separators.
CONTROLS = st.sampled_from(["\t", "\n", "\r", "\x7f", "\u2028", "\u2029",
                            *(chr(c) for c in range(0x80, 0xA0))])
PATHS = st.sampled_from([
    "../", "..\\", "/", "\\", "C:", "c:\\", "\\\\server\\share\\", "//server/share/",
    "./", "a/b", "a\\b", "x:", ":$DATA", "::$INDEX_ALLOCATION",
])
DEVICES = st.sampled_from(["CON", "con", "PRN", "AUX", "NUL", "COM1", "com9", "LPT1",
                           "lpt3", "CONIN$", "COM²"])
FORMAT_CHARS = st.sampled_from(
    [chr(c) for c in range(0x110000)
     if unicodedata.category(chr(c)) == "Cf" and not 0xD800 <= c <= 0xDFFF
     and c not in (0xFFFE, 0xFFFF)])
NAME_FIELDS = st.sampled_from([ATT_NAME, REF_NAME])


@st.composite
def hostile_file_name(draw: st.DrawFn) -> str:
    """A safe name with a control, a path or a device name put into it."""
    stem = draw(SAFE)
    kind = draw(st.sampled_from(["control", "path", "device"]))
    if kind == "device":
        return draw(DEVICES) + draw(st.sampled_from(["", ".pdf", " .doc", ".tar.gz"]))
    cut = draw(st.integers(1, len(stem)))
    bad = draw(CONTROLS) if kind == "control" else draw(PATHS)
    # Inside the name: XML white space at the very edges is trimmed by every reader.
    return stem[:cut] + bad + "x" + stem[cut:] + ".pdf"


@PROPERTY
@given(hostile_file_name(), NAME_FIELDS)
def test_every_hostile_file_name_is_refused(name: str, where: tuple[str, str]) -> None:
    result = VALIDATOR.check(with_name(name, where))
    assert errors.ATTACHMENT_NAME_UNSAFE.id in codes(result), (name, result.errors)
    assert filenames.unsafe_file_name(name.strip(" \t\r\n")) is not None


@st.composite
def escaping_label(draw: st.DrawFn) -> str:
    """A description that, saved as a name, leaves the folder or carries a control."""
    text = draw(SAFE)
    escape = draw(st.sampled_from([
        "../", "..\\", "a/../", "/", "\\", "\\\\host\\share\\", "C:", "z:\\",
    ]))
    if escape[0] in "/\\" or escape[1:2] == ":":
        return escape + text
    if draw(st.booleans()):
        return text + "x" + draw(CONTROLS) + "x"
    return text + "/" + escape + text


@PROPERTY
@given(escaping_label(), st.sampled_from([ATT_DESC, REF_DESC]))
def test_every_escaping_description_is_refused(text: str, where: tuple[str, str]) -> None:
    result = VALIDATOR.check(with_name(text, where))
    assert errors.ATTACHMENT_NAME_UNSAFE.id in codes(result), (text, result.errors)


@PROPERTY
@given(SAFE, NAME_FIELDS)
def test_ordinary_names_pass_clean(stem: str, where: tuple[str, str]) -> None:
    """Vietnamese names with spaces, brackets and punctuation: no error, no warning."""
    result = VALIDATOR.check(with_name(stem + ".pdf", where, PDF_BASE))
    assert result.errors == () and result.warnings == (), (stem, result.errors)


@PROPERTY
@given(SAFE, st.sampled_from(["Công văn số 12/UBND-VP", "Kèm theo: phụ lục", "v/v họp...",
                              "Báo cáo 2024 (bản cuối)"]))
def test_descriptions_with_slashes_and_colons_pass(stem: str, label: str) -> None:
    result = VALIDATOR.check(with_name(f"{label} {stem}", ATT_DESC))
    assert result.errors == (), result.errors


@PROPERTY
@given(SAFE, FORMAT_CHARS, st.integers(0, 40), NAME_FIELDS)
def test_invisible_and_bidi_characters_are_reported(
    stem: str, ch: str, at: int, where: tuple[str, str]
) -> None:
    """Right-to-left overrides, isolates, zero-width characters …: accepted (the real
    extension is .pdf and judged by Art. 4.3), with a warning naming the character."""
    at = min(at, len(stem))
    name = stem[:at] + ch + stem[at:] + ".pdf"
    result = VALIDATOR.check(with_name(name, where, PDF_BASE))
    assert result.errors == (), result.errors
    assert errors.ATTACHMENT_NAME_DECEPTIVE.id in warnings(result)


@PROPERTY
@given(SAFE, st.sampled_from(["pdf", "doc", "docx", "jpg", "xlsx", "txt"]),
       st.sampled_from(sorted(filenames.EXECUTABLE)), st.sampled_from(["", " " * 30, "."]))
def test_double_extension_to_an_executable_is_refused_and_reported(
    stem: str, shown: str, real: str, padding: str
) -> None:
    """`x.pdf.exe` as a name: refused for its real type, and reported as deceptive."""
    name = f"{stem}.{shown}{padding}.{real}"
    result = VALIDATOR.check(with_name(name, ATT_NAME))
    assert errors.ATTACHMENT_TYPE_FORBIDDEN.id in codes(result)
    assert errors.ATTACHMENT_NAME_DECEPTIVE.id in warnings(result)


@pytest.mark.parametrize("name, reason", [
    ("../../x", "separator"), ("/abs/x.pdf", "separator"), ("C:\\x.pdf", "separator"),
    ("C:x.pdf", "':'"), ("\\\\server\\share", "separator"), ("a\\b.pdf", "separator"),
    ("x.pdf:evil.exe", "':'"), ("CON", "device"), ("nul.txt", "device"), ("...", "dots"),
    ("a\x85b.pdf", "U+0085"), ("a\u2029b", "U+2029"),
])
def test_unsafe_file_name_says_why(name: str, reason: str) -> None:
    why = filenames.unsafe_file_name(name)
    assert why is not None and reason in why


@pytest.mark.parametrize("name, ext", [
    ("x.PDF", "pdf"), ("x.exe.", "exe"), ("x.exe . .", "exe"), ("Q1.2020", None),
    ("v2.1 final", None), ("noext", None), ("x.tar.gz", "gz"), (".pdf", "pdf"),
    ("Tờ trình.Bản cuối", None),
])
def test_extension_is_what_a_desktop_goes_by(name: str, ext: str | None) -> None:
    assert filenames.extension(name) == ext


# --- item 14: types -----------------------------------------------------------------------

NOT_ART_4_3 = [
    "text/html", "application/xhtml+xml", "application/x-msdownload",
    "application/x-msdos-program", "application/vnd.microsoft.portable-executable",
    "application/x-dosexec", "application/javascript", "text/javascript",
    "application/x-sh", "application/java-archive", "application/hta",
    "application/x-ms-shortcut", "image/svg+xml",
    "application/vnd.ms-word.document.macroEnabled.12",
    "text/xml", "application/xml", "message/rfc822", "application/x-rar-compressed",
]


@PROPERTY
@given(st.one_of(
    st.sampled_from(NOT_ART_4_3),
    st.from_regex(r"application/x-[a-z]{3,12}", fullmatch=True),
), st.sampled_from(["", "; charset=utf-8", ";name=x.pdf"]))
def test_a_declared_type_outside_art_4_3_is_refused(mime: str, params: str) -> None:
    """PDF bytes, a .PDF name, and a declared type no setting allows: refused."""
    raw = PDF_BASE.replace("<ContentType>application/pdf</ContentType>",
                           f"<ContentType>{mime}{params}</ContentType>")
    result = VALIDATOR.check(raw.encode("utf-8"))
    assert codes(result) & {errors.ATTACHMENT_TYPE_FORBIDDEN.id}, (mime, result.errors)


@PROPERTY
@given(SAFE, st.one_of(st.sampled_from(sorted(filenames.EXECUTABLE)),
                       st.from_regex(r"[a-z]{2,4}[0-9]?", fullmatch=True).filter(
                           lambda e: filetypes.EXTENSIONS.get(e, e)
                           not in DEFAULT_ALLOWED_TYPES)),
       NAME_FIELDS, st.sampled_from([ZIP_BASE, PDF_BASE]))
def test_an_extension_outside_art_4_3_is_refused(
    stem: str, ext: str, where: tuple[str, str], base: str
) -> None:
    """Also inside the SDK's zip container: the zipped file's name must be allowed."""
    result = VALIDATOR.check(with_name(f"{stem}.{ext}", where, base))
    assert errors.ATTACHMENT_TYPE_FORBIDDEN.id in codes(result), (ext, result.errors)


@PROPERTY
@given(SAFE, st.sampled_from(["docx", "xls", "xlsx", "png", "jpg", "gif", "csv", "odt"]),
       NAME_FIELDS, st.sampled_from(["application/pdf", "application/octet-stream", ""]))
def test_an_extension_that_disagrees_with_the_bytes_is_refused(
    stem: str, ext: str, where: tuple[str, str], declared: str
) -> None:
    raw = with_name(f"{stem}.{ext}", where, PDF_BASE).decode("utf-8").replace(
        "<ContentType>application/pdf</ContentType>", f"<ContentType>{declared}</ContentType>")
    result = VALIDATOR.check(raw.encode("utf-8"))
    assert errors.ATTACHMENT_TYPE_MISMATCH.id in codes(result), (ext, result.errors)


@pytest.mark.parametrize("stated, detected", [
    ("doc", "ole"), ("xls", "ole"), ("zip", "docx"), ("zip", "xlsx"), ("zip", "odt"),
    ("doc", "docx"), ("doc", "rtf"), ("xlsx", "xls"), ("txt", "csv"), ("pdf", "pdf"),
])
def test_agreeing_pairs(stated: str, detected: str) -> None:
    assert filetypes.agree(stated, detected)


@pytest.mark.parametrize("stated, detected", [
    ("pdf", "zip"), ("docx", "zip"), ("pdf", "txt"), ("jpeg", "png"), ("txt", "html"),
    ("doc", "pdf"), ("xls", "doc"),
])
def test_disagreeing_pairs(stated: str, detected: str) -> None:
    assert not filetypes.agree(stated, detected)


def test_the_sdk_container_keeps_the_zipped_file_name() -> None:
    """Spec §1: `x.doc` declared application/zip, the bytes a zip (the real fixtures)."""
    allowed = DEFAULT_ALLOWED_TYPES
    assert filetypes.judge_name("x.doc", "doc", "application/zip", "zip", allowed) is None
    assert filetypes.judge_name("x.doc", "doc", "", "zip", allowed) is None
    mismatch = filetypes.judge_name("x.doc", "doc", "application/pdf", "zip", allowed)
    assert mismatch is not None and mismatch.code is errors.ATTACHMENT_TYPE_MISMATCH
    forbidden = filetypes.judge_name("x.exe", "exe", "application/zip", "zip", allowed)
    assert forbidden is not None and forbidden.code is errors.ATTACHMENT_TYPE_FORBIDDEN
