"""Where a package's parts are: header, body, attachments, kind and message header.

Found once per package (`open_envelope`) and handed to every stage that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from axis import errors
from axis.edxml.model import NS, Kind
from axis.edxml.xmltree import children, line_of

Element = etree._Element


def envelope_parts(root: Element) -> tuple[Element, Element | None, Element | None]:
    """(edXMLHeader, edXMLBody, AttachmentEncoded) or `edxml.wrong_root`/schema errors."""
    if root.tag != f"{{{NS}}}edXML":
        raise errors.WRONG_ROOT.error(f"root is {root.tag}", line=line_of(root))
    rk = children(root)
    env = rk.get("edXMLEnvelope")
    if not env:
        raise errors.SCHEMA_INVALID.error("no edXMLEnvelope", path="/edXML")
    ek = children(env[0])
    header = ek.get("edXMLHeader")
    if not header:
        raise errors.SCHEMA_INVALID.error("no edXMLHeader", path="/edXML/edXMLEnvelope")
    body = ek.get("edXMLBody")
    box = rk.get("AttachmentEncoded")
    return header[0], body[0] if body else None, box[0] if box else None


def detect_kind(header: Element) -> tuple[Kind, Element]:
    hk = children(header)
    headers = hk.get("MessageHeader", []) + hk.get("Status", [])
    if len(headers) > 1:  # which one would the recipient read? refuse the ambiguity
        raise errors.SCHEMA_INVALID.error(
            f"{len(headers)} MessageHeader/Status blocks",
            path="/edXML/edXMLEnvelope/edXMLHeader", line=line_of(headers[1]),
        )
    if "Status" in hk:
        return Kind.STATUS, hk["Status"][0]
    mh = hk.get("MessageHeader")
    if not mh:
        raise errors.SCHEMA_INVALID.error(
            "no MessageHeader or Status", path="/edXML/edXMLEnvelope/edXMLHeader"
        )
    is_status = mh[0].find(_STATUS_CODE) is not None
    return (Kind.STATUS if is_status else Kind.EDOC), mh[0]


_STATUS_CODE = f"{{{NS}}}StatusCode"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parts of a package every stage looks at, found once."""

    header: Element
    body: Element | None
    box: Element | None
    kind: Kind
    message_header: Element


def open_envelope(root: Element) -> Envelope:
    """Raises `edxml.wrong_root` or `edxml.schema_invalid` for a tree that is not a package."""
    header, body, box = envelope_parts(root)
    kind, message_header = detect_kind(header)
    return Envelope(header, body, box, kind, message_header)
