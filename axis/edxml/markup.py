"""Fields that must be one plain text node: what the node routes, polices or joins on.

A processing instruction, a comment or a CDATA section inside `To/OrganId` splits its
text: lxml's `.text` (and a recipient's naive DOM `firstChild`) stop at the markup,
other readers join the pieces, and C14N drops comments before the signature is checked.
Readers then disagree on who the package is for. So every field read as an identifier,
a code, a file name or a payload must hold exactly one text node (or none) and nothing
else; everything else is refused with `edxml.markup_in_field`.

The check runs on the tree parsed from the sender's bytes (`safexml.parse`), before any
canonicalisation can hide a comment or a CDATA boundary, and again in the reader for
trees that come from elsewhere.
"""

from __future__ import annotations

from lxml import etree

from axis import errors
from axis.edxml.model import NS
from axis.edxml.xmltree import element_path, line_of, local

Element = etree._Element

# Local names in the edXML namespace that are leaves wherever they occur.
STRICT_FIELDS: frozenset[str] = frozenset({
    # routing and the documents acted on (spec §2, §3, §5)
    "OrganId", "DocumentId", "StatusCode", "BussinessDocType", "BusinessDocType",
    # the document's own identity (số, ký hiệu) and its routing priority (Art. 7.2)
    "CodeNumber", "CodeNotation", "Priority",
    # policy: a classified document is refused (Art. 1.2); read from OtherInfo
    "SecurityLevel", "Secrecy", "SecretLevel", "DoMat", "Confidentiality",
    # attachments: the join key, the declared type, the name recipients save by, the bytes
    "ContentId", "ContentType", "AttachmentName", "ContentTransferEncoded",
})
# `Code` is a leaf only inside ResponseFor (in MessageHeader it holds CodeNumber …).
_LEAF_IN_PARENT = {("ResponseFor", "Code")}

_STRICT_TAGS = frozenset(f"{{{NS}}}{n}" for n in STRICT_FIELDS)
_IN_PARENT_TAGS = {f"{{{NS}}}{c}": f"{{{NS}}}{p}" for p, c in _LEAF_IN_PARENT}
_TAGS = tuple(sorted(_STRICT_TAGS | _IN_PARENT_TAGS.keys()))
# More than one text node: a CDATA section next to text, with a parser that keeps CDATA
# boundaries as safexml's does (lxml's `.text` joins them).
_SPLIT_TEXT = etree.XPath("count(text()) > 1")


def is_strict(el: Element) -> bool:
    tag = el.tag
    if tag in _STRICT_TAGS:
        return True
    parent_tag = _IN_PARENT_TAGS.get(tag) if isinstance(tag, str) else None
    parent = el.getparent() if parent_tag else None
    return parent is not None and parent.tag == parent_tag


def has_markup(el: Element) -> bool:
    """Any child node at all (elements, comments, PIs): lxml counts them all in len()."""
    return len(el) > 0


def refuse_markup(root: Element) -> None:
    """Raise `edxml.markup_in_field` for the first strict field that is not plain text.

    The filter on tags runs in C and the children count is free; the text-node count is
    asked of XPath for the strict fields only (tens of microseconds a package)."""
    for el in root.iter(*_TAGS):
        if is_strict(el) and (has_markup(el) or _SPLIT_TEXT(el) is True):
            raise errors.MARKUP_IN_FIELD.error(
                f"{local(el)} holds markup: {_describe(el)}",
                path=element_path(el), line=line_of(el),
            )


def _describe(el: Element) -> str:
    kinds = []
    for child in el:
        if isinstance(child, etree._Comment):
            kinds.append("a comment")
        elif isinstance(child, etree._ProcessingInstruction):
            kinds.append("a processing instruction")
        else:
            kinds.append("a child element")
    if not kinds:
        kinds.append("a CDATA section splitting its text")
    return ", ".join(dict.fromkeys(kinds))
