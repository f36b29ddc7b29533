"""What the simulated national axis reads from a package: routing keys and list columns.

Namespace-agnostic (local-name()) because producers mix prefixed and default namespaces and
some put the status fields under ``Status`` instead of ``MessageHeader`` (edxml.md §1, §5).
Hardened parser: no DTDs, no entities, no network. The bytes are never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True)
class PackageFacts:
    is_status: bool
    from_code: str
    # Document package: To/OrganId in order. Status package: ResponseFor/OrganId (the
    # original sender, or for code 13 the recipient whose copy is taken back).
    recipients: tuple[str, ...]
    title: str
    notation: str


class PackageUnreadable(ValueError):
    pass


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=True, remove_comments=False)

_HEADER = "/*/*[local-name()='edXMLEnvelope']/*[local-name()='edXMLHeader']" \
    "/*[local-name()='MessageHeader' or local-name()='Status']"


def _texts(root: etree._Element, xpath: str) -> list[str]:
    found = root.xpath(xpath)
    out: list[str] = []
    if isinstance(found, list):
        for e in found:
            if isinstance(e, etree._Element):
                text = (e.text or "").strip()
                if text and text != "null":
                    out.append(text)
    return out


def read_package(raw: bytes) -> PackageFacts:
    try:
        root = etree.fromstring(raw, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PackageUnreadable(f"not well-formed XML: {exc}") from exc
    if etree.QName(root).localname != "edXML":
        raise PackageUnreadable("root element is not edXML")
    headers = root.xpath(_HEADER)
    if not isinstance(headers, list) or not headers:
        raise PackageUnreadable("no MessageHeader")
    is_status = bool(_texts(root, _HEADER + "/*[local-name()='StatusCode']"))
    from_codes = _texts(root, _HEADER + "/*[local-name()='From']/*[local-name()='OrganId']")
    if is_status:
        recipients = _texts(
            root, _HEADER + "/*[local-name()='ResponseFor']/*[local-name()='OrganId']")
    else:
        recipients = _texts(root, _HEADER + "/*[local-name()='To']/*[local-name()='OrganId']")
    subject = _texts(root, _HEADER + "/*[local-name()='Subject']")
    number = _texts(root, _HEADER + "/*[local-name()='Code']/*[local-name()='CodeNumber']")
    notation = _texts(root, _HEADER + "/*[local-name()='Code']/*[local-name()='CodeNotation']")
    if is_status:
        code = _texts(root, _HEADER + "/*[local-name()='ResponseFor']/*[local-name()='Code']")
        notation_text = code[0] if code else ""
        title = "Status " + _texts(root, _HEADER + "/*[local-name()='StatusCode']")[0]
    else:
        notation_text = "/".join(number[:1] + notation[:1])
        title = subject[0] if subject else ""
    # dict.fromkeys: one delivery per distinct recipient, in the package's order.
    return PackageFacts(
        is_status=is_status,
        from_code=from_codes[0] if from_codes else "",
        recipients=tuple(dict.fromkeys(recipients)),
        title=title,
        notation=notation_text,
    )
