"""An attachment's three types, which must all be allowed and agree (Art. 4.3; spec §1).

A recipient may open a file by its declared `ContentType`, by its name's extension or
by its bytes: each must name a type of Art. 4.3 (the `allowed_types` setting), and they
must describe the same file. "Agree" is this table:

- declared `application/octet-stream` (or nothing): judged by the extension and bytes;
- a name without an extension (`user-zip`, `Q1.2020`): judged by declared type and bytes;
- the same short type, or a pair in `COMPATIBLE` (a `.doc` that is an OLE compound file,
  a docx declared as zip, text/csv, Office's doc/docx/rtf and xls/xlsx families);
- a zip container (declared zip, or unspecified, and the bytes a plain zip): the
  reference SDK zips files and keeps the original name (`x.doc` declared
  `application/zip`, spec §1), so the name's extension need only be allowed.
"""

from __future__ import annotations

from collections.abc import Collection

from axis import errors
from axis.errors import Finding

# Declared MIME type → short type name, with the aliases producers send.
DECLARED: dict[str, str] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/msword": "doc",
    "application/x-msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "text/plain": "txt",
    "application/rtf": "rtf",
    "application/x-rtf": "rtf",
    "text/rtf": "rtf",
    "application/vnd.ms-excel": "xls",
    "application/x-msexcel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/x-csv": "csv",
    "image/png": "png",
    "image/x-png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/gif": "gif",
    "image/tiff": "tiff",
    "image/bmp": "bmp",
    "image/x-bmp": "bmp",
    "image/x-ms-bmp": "bmp",
    "image/webp": "webp",
    "image/svg+xml": "svg",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/x-zip": "zip",
}
UNSPECIFIED = frozenset({"", "application/octet-stream", "binary/octet-stream"})

# A name's extension → short type name; an extension not listed is its own type name
# (`exe`, `html`, `abc`), which no setting allows unless an operator adds it.
EXTENSIONS: dict[str, str] = {
    "pdf": "pdf", "doc": "doc", "docx": "docx", "odt": "odt", "txt": "txt", "rtf": "rtf",
    "xls": "xls", "xlsx": "xlsx", "ods": "ods", "csv": "csv", "png": "png",
    "jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "gif": "gif",
    "tif": "tiff", "tiff": "tiff", "bmp": "bmp", "webp": "webp", "svg": "svg", "zip": "zip",
}

# (stated, detected) pairs that describe the same bytes closely enough for the
# application a recipient opens them with.
COMPATIBLE = frozenset({
    ("txt", "csv"), ("csv", "txt"), ("txt", "xml"), ("rtf", "txt"),
    ("doc", "ole"), ("xls", "ole"),
    ("zip", "docx"), ("zip", "xlsx"), ("zip", "odt"), ("zip", "ods"), ("zip", "edxml-zip"),
    ("doc", "docx"), ("docx", "doc"), ("doc", "rtf"), ("xls", "xlsx"), ("xlsx", "xls"),
})
_CONTAINERS = ("zip",)


def declared_short(content_type: str) -> str | None:
    """Short type of a declared MIME type; None when unspecified. An unknown MIME type is
    returned as itself (`text/html`), which no setting allows."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in UNSPECIFIED:
        return None
    return DECLARED.get(mime, mime)


def is_allowed(short: str, allowed: Collection[str]) -> bool:
    # An OLE compound file is a doc or an xls (libmagic cannot always tell which).
    return short in allowed or (short == "ole" and bool({"doc", "xls"} & set(allowed)))


def agree(stated: str, detected: str) -> bool:
    return stated == detected or (stated, detected) in COMPATIBLE


def judge_content(content_type: str, detected: str, allowed: Collection[str]) -> Finding | None:
    """The bytes must be allowed; the declared type must be allowed and fit the bytes."""
    if not is_allowed(detected, allowed):
        return errors.ATTACHMENT_TYPE_FORBIDDEN.finding(
            f"content is {detected} (declared {content_type or 'nothing'})")
    declared = declared_short(content_type)
    if declared is None:
        return None
    if not is_allowed(declared, allowed):
        return errors.ATTACHMENT_TYPE_FORBIDDEN.finding(
            f"declared type {content_type} is not allowed (Art. 4.3)")
    if not agree(declared, detected):
        return errors.ATTACHMENT_TYPE_MISMATCH.finding(
            f"declared {content_type}, content is {detected}")
    return None


def judge_name(
    name: str, ext: str | None, content_type: str, detected: str, allowed: Collection[str]
) -> Finding | None:
    """The name's extension must be allowed and fit the bytes (or name a zipped file)."""
    if ext is None:
        return None
    stated = EXTENSIONS.get(ext, ext)
    if not is_allowed(stated, allowed):
        return errors.ATTACHMENT_TYPE_FORBIDDEN.finding(
            f"{name!r}: .{ext} is not an allowed type (Art. 4.3)")
    if detected in _CONTAINERS and declared_short(content_type) in (None, *_CONTAINERS):
        return None  # the SDK's zip keeps the zipped file's name (spec §1)
    if not agree(stated, detected):
        return errors.ATTACHMENT_TYPE_MISMATCH.finding(
            f"{name!r}: .{ext} names {stated}, content is {detected}")
    return None
