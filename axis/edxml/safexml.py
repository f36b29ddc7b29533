"""Hardened XML parsing: the one place where package bytes become an lxml tree.

Refused before libxml2 sees anything dangerous: any DOCTYPE (so no DTD, no entity
declaration, no XXE, no billion laughs), non-UTF-8 encodings, junk before the prolog,
oversized input. The parser itself never resolves entities, never loads a DTD and never
touches the network. Depth and element count are bounded by configuration. Fields read
as identifiers, names or payloads must be plain text (`markup.py`).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from axis import errors
from axis.edxml.markup import refuse_markup
from axis.edxml.model import NS
from axis.settings import EdxmlSettings

_BOMS_OTHER = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
_UTF8_BOM = b"\xef\xbb\xbf"
_XML_DECL = re.compile(rb"<\?xml\s[^>]*?\?>", re.DOTALL)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_PI_OR_COMMENT = re.compile(rb"\s*(?:<!--.*?-->|<\?(?!xml[\s?]).*?\?>)", re.DOTALL)
_SPACES = re.compile(rb"\s*")
# '<' (or '<?') in UTF-16/32 without a byte order mark: libxml2 would sniff and accept it.
_WIDE_NO_BOM = re.compile(rb"<\x00[^\x00]\x00|\x00<\x00[^\x00]|<\x00\x00\x00|\x00\x00\x00<")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # large base64 text nodes; depth and count are bounded below
        remove_blank_text=False,
        collect_ids=False,
        # CDATA boundaries are kept (`.text` still joins them) so that a CDATA section
        # splitting an identifier can be seen and refused (axis/edxml/markup.py).
        strip_cdata=False,
    )


def check_prolog(data: bytes) -> None:
    """Refuse what must never reach the XML parser. Scans only the prolog."""
    head = data[:_UTF8_BOM.__len__()]
    pos = len(_UTF8_BOM) if head == _UTF8_BOM else 0
    if data.startswith(_BOMS_OTHER):
        raise errors.ENCODING_UNSUPPORTED.error("byte order mark of UTF-16/32")
    if _WIDE_NO_BOM.match(data, pos):
        raise errors.ENCODING_UNSUPPORTED.error("UTF-16/32 without byte order mark")
    if data[pos : pos + 1] != b"<":
        first = data[pos : pos + 16]
        if not data[pos:].strip():  # copies, but only on the way to a refusal
            raise errors.EMPTY.error()
        raise errors.JUNK_BEFORE_PROLOG.error(f"starts with {first!r}")
    decl = _XML_DECL.match(data, pos)
    if decl:
        enc = _ENCODING.search(decl.group(0))
        if enc and enc.group(1).lower() not in (b"utf-8", b"utf8"):
            raise errors.ENCODING_UNSUPPORTED.error(
                f"declared encoding {enc.group(1).decode('ascii', 'replace')}"
            )
        pos = decl.end()
    elif data.startswith(b"<?xml", pos):
        raise errors.NOT_WELL_FORMED.error("unterminated XML declaration", line=1)
    # Skip comments and processing instructions until the root's start tag.
    while True:
        m = _PI_OR_COMMENT.match(data, pos)
        if not m:
            break
        pos = m.end()
    # Any amount of whitespace may stand before a DOCTYPE: skip it all, not a window.
    spaces = _SPACES.match(data, pos)
    rest = data[spaces.end() : spaces.end() + 9] if spaces else b""
    if rest.upper() == b"<!DOCTYPE":
        raise errors.DOCTYPE_FORBIDDEN.error("DOCTYPE in the prolog")
    if rest.startswith(b"<!"):
        raise errors.DOCTYPE_FORBIDDEN.error("markup declaration in the prolog")


def _translate(exc: etree.XMLSyntaxError) -> errors.AxisError:
    msg = str(exc.msg or exc)
    line = exc.lineno or None
    low = msg.lower()
    # Not "Char 0x0 out of allowed range": a NUL is valid UTF-8 but not an XML character.
    if "utf-8" in low or "encoding" in low or "bytes:" in low:
        return errors.NOT_UTF8.error(msg, line=line)
    # An undefined `&foo;` or a bare `&` is a syntax error, not a DOCTYPE; only entity
    # declarations (which need a DOCTYPE) can blow up or loop.
    if "doctype" in low or "amplification" in low or "entity reference loop" in low:
        return errors.DOCTYPE_FORBIDDEN.error(msg, line=line)
    if "depth" in low and ("exceed" in low or "excessive" in low):
        return errors.TOO_DEEP.error(msg, line=line)
    return errors.NOT_WELL_FORMED.error(msg, line=line)


def parse(data: bytes, limits: EdxmlSettings) -> etree._Element:
    """Parse package bytes into a tree, or raise a sender-fault `AxisError`."""
    if not data:
        raise errors.EMPTY.error()
    if len(data) > limits.max_package_bytes:
        raise errors.TOO_LARGE.error(
            f"{len(data)} bytes > limit {limits.max_package_bytes}"
        )
    check_prolog(data)
    # Every element costs at least one '<'; counting them is a C-speed upper bound that
    # refuses an element flood before libxml2 allocates a node for each.
    markup = data.count(b"<")
    if markup > 2 * limits.max_elements + 64:
        raise errors.TOO_MANY_ELEMENTS.error(f"more than {limits.max_elements} elements")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _translate(exc) from exc
    except ValueError as exc:  # lxml refuses some malformed input this way
        raise errors.NOT_WELL_FORMED.error(str(exc)) from exc
    tree = root.getroottree()
    if getattr(tree.docinfo, "doctype", None):
        raise errors.DOCTYPE_FORBIDDEN.error("DOCTYPE present")
    if markup > limits.max_elements:  # else the '<' count already bounds the elements
        count = int(root.xpath("count(//*)"))  # type: ignore[arg-type]
        if count > limits.max_elements:
            raise errors.TOO_MANY_ELEMENTS.error(f"{count} > {limits.max_elements}")
    too_deep = "count(/*" + "/*" * limits.max_depth + ")"
    if int(root.xpath(too_deep)) > 0:  # type: ignore[arg-type]
        raise errors.TOO_DEEP.error(f"deeper than {limits.max_depth}")
    # Here, on the sender's own bytes: C14N would drop comments before any later look.
    refuse_markup(root)
    return root


# --- large attachments (issue 9) ---------------------------------------------------------
# A base64 run longer than this inside ContentTransferEncoded stays out of the tree.
LIFT_ABOVE = 256 * 1024
_CTE_LOCAL = "ContentTransferEncoded"
# Base64 and XML white space without the carriage return (which the parser would turn
# into a line feed): a run of these is character data wherever it stands, taken 1:1.
_B64_RUN = re.compile(rb"[A-Za-z0-9+/=\n\t ]*")


@dataclass(frozen=True, slots=True)
class Lifted:
    """Attachment texts left out of a tree: in the tree, each such ContentTransferEncoded
    holds a placeholder (letters and digits, then as many line feeds as the text had, so
    that line numbers stay right); `spans` maps the placeholder to where the text is in
    `source`, the package bytes.

    Why this is the same document: the text is a run of base64 characters and spaces,
    none of which is markup or changed by the parser (no `<`, `&`, `]]>`, `--`, `?>`,
    quote or carriage return), and so is the placeholder. Swapping one for the other
    therefore changes no boundary of any markup and the run's place in the document;
    the parse of the swapped bytes is accepted only if each placeholder came out as the
    whole text of exactly one edXML ContentTransferEncoded and nowhere else.
    """

    source: bytes
    spans: Mapping[str, tuple[int, int]]

    def run(self, placeholder: str) -> memoryview:
        start, end = self.spans[placeholder]
        return memoryview(self.source)[start:end]


def _plain_base64(data: bytes, start: int, end: int) -> bool:
    """Significant characters a multiple of 4, `=` only as the last one or two: what
    `attachments.decode_base64` accepts. Anything else is left in the tree, where the
    usual path finds and reports it."""
    spaces = sum(data.count(c, start, end) for c in (b" ", b"\t", b"\n"))
    if (end - start - spaces) % 4:
        return False
    pads = data.count(b"=", start, end)
    if not pads:
        return True
    tail = data[max(start, end - 64):end].translate(None, b" \t\n")
    return pads <= 2 and tail.endswith(b"=" * pads)


@functools.lru_cache(maxsize=8)
def _start_tag(local: str) -> re.Pattern[bytes]:
    name = re.escape(local.encode("ascii"))
    return re.compile(rb"<(?:[A-Za-z_][A-Za-z0-9._-]*:)?" + name + rb"(?:\s[^<>]*)?>")


def parse_lifted(
    data: bytes, limits: EdxmlSettings, *, element: tuple[str, str] = (NS, _CTE_LOCAL),
) -> tuple[etree._Element, Lifted | None]:
    """`parse`, with each large attachment's base64 left in `data` instead of being copied
    into the tree (issue 9: a 45 MB package is held once, not once more per stage).
    Falls back to `parse` whenever the swap cannot be shown to be the same document.
    `element` (namespace, local name): whose base64 text is lifted; by default edXML's
    ContentTransferEncoded (the SOAP edge lifts its `edoc` parameter the same way)."""
    if len(data) <= LIFT_ABOVE or len(data) > limits.max_package_bytes:
        return parse(data, limits), None
    start_tags = _start_tag(element[1])
    clark = f"{{{element[0]}}}{element[1]}"
    token = uuid.uuid4().hex.upper()
    spans: dict[str, tuple[int, int]] = {}
    parts: list[bytes] = []
    at = 0
    for start_tag in start_tags.finditer(data):
        start = start_tag.end()
        if start < at:
            continue
        run = _B64_RUN.match(data, start)
        end = run.end() if run else start
        if end - start <= LIFT_ABOVE or data[end:end + 1] != b"<" \
                or not _plain_base64(data, start, end):
            continue
        placeholder = f"AXISLIFTED{token}N{len(spans)}X" + "\n" * data.count(b"\n", start, end)
        spans[placeholder] = (start, end)
        parts += (data[at:start], placeholder.encode("ascii"))
        at = end
    if not spans:
        return parse(data, limits), None
    parts.append(data[at:])
    small = b"".join(parts)
    del parts
    try:
        root = parse(small, limits)
    except errors.AxisError:
        return parse(data, limits), None  # the refusal, exactly as without the swap
    # The placeholder must be ALL of the element's content (no comment, PI or child after
    # the run), as the whole text is what the reader decodes.
    found = [el.text for el in root.iter(clark) if el.text in spans and len(el) == 0]
    if sorted(found) != sorted(spans) or any(
            small.count(p.encode("ascii")) != 1 for p in spans):
        return parse(data, limits), None
    return root, Lifted(data, spans)
