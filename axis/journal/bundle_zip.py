"""The evidence bundle's container: a ZIP in one canonical form (docs/evidence-bundle.md).

Canonical so that "one byte changed anywhere" is always seen, headers included: members
stored (no compression: the same bytes on every zlib, and a verifier in any language can
rebuild them), in the bundle's fixed order, each dated 1980-01-01 00:00:00 with the same
attributes, no comments, no extra fields, no ZIP64. A verifier reads the members, writes
them again by these rules and compares the result with the file byte for byte; the CRCs,
sizes, offsets and names in the headers are then exactly what the members imply.
"""

from __future__ import annotations

import io
import struct
import zipfile

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest ZIP time: nothing about the export moment
ATTRIBUTES = 0o100644 << 16  # a regular file, rw-r--r--, in the high word (Unix)
UNIX = 3  # "version made by" host system
MAX_MEMBERS = 65535  # no ZIP64
_LOCAL = struct.Struct("<4s5H3L2H")  # a local file header, 30 bytes


class ContainerInvalid(ValueError):
    """Not a bundle container: unreadable, compressed, or not ZIP at all."""


def write(members: list[tuple[str, bytes]]) -> bytes:
    """The canonical ZIP of `members` (name, bytes), in that order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=False) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = UNIX
            info.external_attr = ATTRIBUTES
            zf.writestr(info, data)
    return buf.getvalue()


def read(data: bytes) -> list[tuple[str, bytes]]:
    """The members (name, bytes) in the order of the central directory. Read from the
    offsets the headers give, not through zipfile's CRC check: a changed byte inside a
    member must be reported as that member's problem, not as an unreadable archive (the
    CRC mismatch still shows, as a non-canonical container)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ContainerInvalid(f"not a ZIP file: {exc}") from exc
    if len(infos) > MAX_MEMBERS:
        raise ContainerInvalid("too many members")
    out: list[tuple[str, bytes]] = []
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise ContainerInvalid(f"{info.filename}: compressed (bundles are stored)")
        start = info.header_offset
        header = data[start:start + _LOCAL.size]
        if len(header) < _LOCAL.size:
            raise ContainerInvalid(f"{info.filename}: truncated local header")
        fields = _LOCAL.unpack(header)
        if fields[0] != b"PK\x03\x04":
            raise ContainerInvalid(f"{info.filename}: no local header at its offset")
        name_len, extra_len = fields[9], fields[10]
        begin = start + _LOCAL.size + name_len + extra_len
        body = data[begin:begin + info.compress_size]
        if len(body) != info.compress_size:
            raise ContainerInvalid(f"{info.filename}: truncated")
        out.append((info.filename, body))
    return out


def is_canonical(data: bytes, members: list[tuple[str, bytes]]) -> bool:
    return write(members) == data
