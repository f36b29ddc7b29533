"""Attachments: base64 decoding, real type by the bytes, zip containers (Art. 4.3; spec §1).

A declared ContentType can lie, so the type is read from the bytes (libmagic, then an
inspection of zip containers: a docx is a zip with `word/`, but a zip is not a docx).
Zip is accepted as the reference SDK's container; its entries are listed with their
types and checked for bombs and hostile paths without ever being fully inflated.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import lzma
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

import magic

from axis import errors
from axis.edxml import filenames, filetypes
from axis.edxml.filetypes import DECLARED, UNSPECIFIED
from axis.edxml.model import ZipEntry
from axis.errors import Finding
from axis.settings import EdxmlSettings

_SNIFF = 8192
# What inflating a corrupt or exotic zip member raises: zipfile does not wrap these.
_INFLATE_ERRORS = (
    zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, RuntimeError,
    NotImplementedError, OSError, ValueError,
)

# libmagic's answer → short type name.
_DETECTED: dict[str, str] = {
    **{k: v for k, v in DECLARED.items() if v not in ("txt", "csv")},
    "text/plain": "txt",
    "text/csv": "csv",
    "application/x-ole-storage": "ole",
    "application/CDFV2": "ole",
    "application/vnd.ms-office": "ole",
    "application/x-dosexec": "exe",
    "application/x-executable": "exe",
    "application/x-sharedlib": "exe",
    "application/x-mach-binary": "exe",
    "text/xml": "xml",
    "application/xml": "xml",
    "text/html": "html",
    "application/x-rar": "rar",
    "application/x-7z-compressed": "7z",
    "application/gzip": "gzip",
    "image/x-ms-bmp": "bmp",
    "application/x-empty": "empty",
}


@dataclass(frozen=True, slots=True)
class Inspected:
    size: int
    sha256: str
    detected_type: str
    entries: tuple[ZipEntry, ...]
    data: bytes


def decode_base64(text: str) -> bytes:
    """Decode base64 that may be broken into lines; raise ValueError when invalid.

    Non-strict `a2b_base64` skips whitespace but also silently skips junk and stops at
    padding. Rather than scanning the text again (or copying it: a 50 MB attachment must
    not be held twice), the decoded length is compared with what the non-whitespace
    characters promise: any junk or early padding breaks that equation.
    """
    try:
        data = binascii.a2b_base64(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from exc
    significant = len(text) - sum(text.count(c) for c in " \t\n\r")
    padding = text.count("=")
    if significant % 4 or padding > 2 or len(data) != significant // 4 * 3 - padding:
        raise ValueError("characters outside the base64 alphabet or misplaced padding")
    return data


# Unambiguous leading bytes of the commonest types: answered without libmagic, which
# costs tens of microseconds a call. Everything else goes to libmagic.
_MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\x7fELF", "exe"),
    (b"{\\rtf", "rtf"),
)


def sniff(head: bytes) -> str:
    """Short type name of a byte prefix: magic numbers first, then libmagic."""
    if not head:
        return "empty"
    for prefix, kind in _MAGIC_NUMBERS:
        if head.startswith(prefix):
            if kind == "ole":
                break  # doc or xls: let libmagic tell them apart
            return kind
    if b"QCVN_102_2016" in head[:_SNIFF] and head.lstrip()[:1] == b"<":
        return "edxml"
    mime = magic.from_buffer(head[:_SNIFF], mime=True)
    if mime.startswith("application/vnd.openxmlformats") or mime in ("application/zip",):
        return "zip"  # refined by the container inspection
    if mime.startswith("application/vnd.oasis.opendocument"):
        return "zip"
    if mime.startswith("image/") and mime not in _DETECTED:
        return mime.removeprefix("image/")
    return _DETECTED.get(mime, mime)


def _zip_kind(zf: zipfile.ZipFile) -> str:
    names = set(zf.namelist())
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.startswith("ppt/") for n in names):
            return "pptx"
    if "mimetype" in names:
        with zf.open("mimetype") as fh:  # a prefix only: the entry may be a bomb
            mt = fh.read(100).strip()
        return {
            b"application/vnd.oasis.opendocument.text": "odt",
            b"application/vnd.oasis.opendocument.spreadsheet": "ods",
            b"application/vnd.oasis.opendocument.presentation": "odp",
        }.get(mt, "zip")
    return "zip"


def _unsafe_name(name: str) -> bool:
    if not name:  # nameless: not a file anyone can save (and ZipInfo.is_dir() fails)
        return True
    p = PurePosixPath(name.replace("\\", "/"))
    return (p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")
            # extracted under this name: a control character is never a file name
            or filenames.control_character(name) is not None)


def inspect_zip(data: bytes, limits: EdxmlSettings) -> tuple[str, tuple[ZipEntry, ...]]:
    """Container kind and entries; raise ValueError with the reason when hostile."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:
        raise ValueError(f"not a readable zip: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.zip_max_entries:
            raise ValueError(f"{len(infos)} entries > {limits.zip_max_entries}")
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos) or 1
        if total > limits.zip_max_total_bytes:
            raise ValueError(f"{total} bytes uncompressed > {limits.zip_max_total_bytes}")
        if total > 1024 * 1024 and total / packed > limits.zip_max_ratio:
            raise ValueError(f"compression ratio {total // packed} > {limits.zip_max_ratio}")
        try:
            kind = _zip_kind(zf)
        except _INFLATE_ERRORS as exc:
            raise ValueError(f"unreadable entry 'mimetype': {exc}") from exc
        entries = []
        for info in infos:
            if _unsafe_name(info.filename):
                raise ValueError(f"hostile entry path {info.filename!r}")
            if info.is_dir():
                continue
            try:
                # Only a prefix is inflated: enough to sniff, never a bomb.
                with zf.open(info) as fh:
                    head = fh.read(_SNIFF)
            except _INFLATE_ERRORS as exc:
                raise ValueError(f"unreadable entry {info.filename!r}: {exc}") from exc
            entries.append(ZipEntry(info.filename, info.file_size, sniff(head)))
    return kind, tuple(entries)


def declared_type(content_type: str) -> str | None:
    """Short type of a declared MIME type; None when unspecified or unknown."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in UNSPECIFIED:
        return None
    return DECLARED.get(mime)


def inspect(
    text: str, content_type: str, limits: EdxmlSettings
) -> tuple[Inspected | None, list[Finding]]:
    """Decode one attachment and judge its real type against the declared one.

    Findings come without a location; the caller, which has the element, adds it.
    """
    try:
        data = decode_base64(text)
    except ValueError as exc:
        return None, [errors.BASE64_INVALID.finding(str(exc))]
    return _judged(data, len(data), hashlib.sha256(data).hexdigest(), content_type, limits)


_RUN_CHUNK = 1 << 20


def inspect_run(
    run: memoryview, content_type: str, limits: EdxmlSettings, *, keep_data: bool = False
) -> tuple[Inspected | None, list[Finding]]:
    """`inspect` for a base64 run left out of the tree (`safexml.Lifted`: base64
    characters and spaces, a multiple of 4, padding only at the end, so exactly what
    `decode_base64` accepts). Decoded and hashed in chunks: the decoded attachment is
    never held whole (issue 9) unless it must be: a zip is opened, `keep_data` keeps it.
    """
    head = b""
    size = 0
    digest = hashlib.sha256()
    carry = b""
    for i in range(0, len(run), _RUN_CHUNK):
        piece = carry + run[i:i + _RUN_CHUNK].tobytes().translate(None, b" \t\n")
        cut = len(piece) // 4 * 4
        part = binascii.a2b_base64(piece[:cut])
        carry = piece[cut:]
        digest.update(part)
        size += len(part)
        if len(head) < _SNIFF:
            head += part[:_SNIFF - len(head)]
    if carry:  # cannot happen for a run safexml lifted; refused like decode_base64 would
        return None, [errors.BASE64_INVALID.finding(
            "characters outside the base64 alphabet or misplaced padding")]
    if keep_data or sniff(head) == "zip":
        data = binascii.a2b_base64(run)
        return _judged(data, size, digest.hexdigest(), content_type, limits)
    return _judged(head, size, digest.hexdigest(), content_type, limits, keep=False)


def _judged(
    data: bytes, size: int, sha256: str, content_type: str, limits: EdxmlSettings, *,
    keep: bool = True,
) -> tuple[Inspected | None, list[Finding]]:
    """The real type of decoded bytes (`data`: all of them, or with `keep=False` the
    first `_SNIFF`, enough for any type but a zip) judged against the declared one."""
    findings: list[Finding] = []
    detected = sniff(data[:_SNIFF])
    entries: tuple[ZipEntry, ...] = ()
    if detected == "zip":
        try:
            detected, entries = inspect_zip(data, limits)
        except ValueError as exc:
            findings.append(errors.ZIP_UNSAFE.finding(str(exc)))
        if limits.zip_strict_entries:
            for e in entries:
                if not filetypes.is_allowed(e.detected_type, limits.allowed_types):
                    findings.append(errors.ATTACHMENT_TYPE_FORBIDDEN.finding(
                        f"zip entry {e.name!r} is {e.detected_type}"))
    judged = filetypes.judge_content(content_type, detected, limits.allowed_types)
    if judged is not None:
        findings.append(judged)
    info = Inspected(
        size=size,
        sha256=sha256,
        detected_type=detected,
        entries=entries,
        data=data if keep else b"",
    )
    return info, findings
