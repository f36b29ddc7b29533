"""What sendEdoc reads from a request body: the package, given as the whole body or as
the multipart field `edocFile` (the national axis' shape) with an optional `messageType`
field. A large part goes through a spool file, never a growing buffer (issue 9)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from adapters.rest.agency_models import MessageType
from adapters.rest.auth import SPOOL_ABOVE, Body
from axis import errors

# RFC 2046 §5.1.1: 1 to 70 characters from bchars, the last not a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# The multipart fields sendEdoc reads, each once: a second one is refused, never chosen.
READ_ONCE_PARTS = ("edocFile", "messageType")


def package_of(content_type: str, body: Body | bytes,
               spool_dir: Path | None = None) -> tuple[bytes, MessageType | None]:
    """The package from a multipart upload (`edocFile`, optional `messageType` field)
    or the raw body; `edxml.empty` when there is none. Either way the package is one
    bytes object read once: a large part goes through a spool file, not a buffer that
    is then copied (issue 9)."""
    if isinstance(body, bytes):
        body = Body(len(body), "", small=body)
    if content_type.lower().startswith("multipart/"):
        parts = multipart_fields(content_type, body.chunks(), spool_dir)
        raw = parts.get("edocFile", b"")
        declared = parts.get("messageType", b"").decode("ascii", "replace").strip()
        if declared and declared not in ("edoc", "status"):
            raise errors.API_INVALID_REQUEST.error(f"messageType {declared[:20]!r}")
        form_type: MessageType | None = (
            "edoc" if declared == "edoc" else "status" if declared == "status" else None)
    else:
        raw, form_type = body.read(), None
    if not raw or raw.isspace():  # bytes.strip() would copy a large package
        raise errors.EMPTY.error("send the package as the body or as multipart edocFile")
    return raw, form_type


class _PartSink:
    """One part's bytes: in memory, then in an unnamed file past `SPOOL_ABOVE`."""

    def __init__(self, spool_dir: Path | None) -> None:
        self._dir = spool_dir
        self._mem: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._mem is None:
            assert self._file is not None
            self._file.write(data)
            return
        self._mem += data
        if len(self._mem) > SPOOL_ABOVE:
            if self._dir is not None:
                self._dir.mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(prefix="part-", dir=self._dir)  # noqa: SIM115
            self._file.write(self._mem)
            self._mem = None

    def value(self) -> bytes:
        if self._mem is not None:
            return bytes(self._mem)
        assert self._file is not None
        with self._file:
            self._file.seek(0)
            return self._file.read()


def multipart_fields(content_type: str, body: Iterable[bytes] | bytes,
                     spool_dir: Path | None = None) -> dict[str, bytes]:
    """Every named part of a multipart body. A part sendEdoc reads (`READ_ONCE_PARTS`)
    given twice, or a part naming itself twice, is refused (`api.duplicate_parameter`):
    which one the node would pick is exactly what a sender and a reviewer may disagree
    on."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise errors.API_INVALID_REQUEST.error("multipart body without a boundary")
    if not _BOUNDARY.fullmatch(boundary):
        raise errors.API_INVALID_REQUEST.error(
            "multipart boundary: 1 to 70 characters (RFC 2046 §5.1.1)")
    fields: dict[str, bytes] = {}
    header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}
    current: dict[str, Any] = {"name": None, "data": _PartSink(spool_dir), "dispositions": 0}

    def on_part_begin() -> None:
        current["name"], current["data"], current["dispositions"] = (
            None, _PartSink(spool_dir), 0)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        if bytes(header["field"]).strip().lower() == b"content-disposition":
            current["dispositions"] += 1
            if current["dispositions"] > 1:
                raise errors.API_DUPLICATE_PARAMETER.error(
                    "a multipart part with two Content-Disposition headers")
            _, disp = parse_options_header(bytes(header["value"]))
            name = disp.get(b"name")
            current["name"] = name.decode("utf-8", "replace") if name is not None else None
        header["field"], header["value"] = bytearray(), bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"].write(data[start:end])

    def on_part_end() -> None:
        name = current["name"]
        if name is None:
            return
        if name in fields and name in READ_ONCE_PARTS:
            raise errors.API_DUPLICATE_PARAMETER.error(f"multipart field {name} given twice")
        if name not in fields:
            fields[name] = current["data"].value()
        current["data"] = None  # a large part is held once: in `fields`

    try:
        parser = MultipartParser(boundary, {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field,
            "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_part_data": on_part_data, "on_part_end": on_part_end})
        for chunk in [body] if isinstance(body, bytes) else body:
            parser.write(chunk)
        parser.finalize()
    except (MultipartParseError, FormParserError) as exc:
        raise errors.API_INVALID_REQUEST.error(f"multipart body: {exc}") from exc
    return fields
