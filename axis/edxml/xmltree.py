"""Small helpers over lxml trees of edXML packages: children by local name in the edXML
namespace, element paths and lines for findings, ASCII-only integers, `cid:` ids."""

from __future__ import annotations

import re

from lxml import etree

from axis.edxml.model import NS

Element = etree._Element

_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def ascii_int(text: str) -> int:
    """int() without its Unicode generosity: "３" or Arabic-Indic digits are not numbers
    on the wire, whatever Python's int() says."""
    if not _ASCII_INT.fullmatch(text):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def line_of(el: Element) -> int | None:
    """The source line (lxml-stubs type it loosely)."""
    line: object = el.sourceline
    return line if isinstance(line, int) else None


def local(el: Element) -> str:
    return etree.QName(el).localname


def element_path(el: Element) -> str:
    parts: list[str] = []
    node: Element | None = el
    while node is not None:
        name = local(node)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


_NS_PREFIX = "{" + NS + "}"
_NS_LEN = len(_NS_PREFIX)
_NS_WILDCARD = _NS_PREFIX + "*"


def children(el: Element) -> dict[str, list[Element]]:
    """Children in the edXML namespace by local name, in document order."""
    out: dict[str, list[Element]] = {}
    # The tag filter runs in C: comments, PIs and other namespaces never reach Python.
    for c in el.iterchildren(_NS_WILDCARD):
        name = c.tag[_NS_LEN:]
        found = out.get(name)
        if found is None:
            out[name] = [c]
        else:
            found.append(c)
    return out


def strip_cid(content_id: str) -> str:
    cid = content_id.strip()
    return cid[4:].strip() if cid[:4].lower() == "cid:" else cid


def self_first(el: Element, name: str) -> Element | None:
    found = children(el).get(name)
    return found[0] if found else None
