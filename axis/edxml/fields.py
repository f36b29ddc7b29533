"""Reading leaf fields of an edXML tree: length limits, NFC, numbers, dates, repeats.

Every problem becomes a finding with the element's path and line; nothing raises.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from lxml import etree

from axis import errors
from axis.clock import parse_wire_date, parse_wire_timestamp
from axis.edxml.markup import has_markup, is_strict
from axis.edxml.xmltree import _NS_LEN, ascii_int, element_path, line_of
from axis.errors import Code, Finding
from axis.settings import EdxmlSettings

if TYPE_CHECKING:
    from axis.edxml.safexml import Lifted

Element = etree._Element
T = TypeVar("T")

# Spec §2: the standard's lengths. Longer is untidy, not unsafe (spec §7a: the national
# gateway itself emits 14-character CodeNumbers): a warning up to the hard bound.
STANDARD: dict[str, int] = {
    "CodeNumber": 11, "CodeNotation": 30, "Place": 50, "Subject": 500, "Content": 500,
    "ToPlace": 150, "SphereOfPromulgation": 100, "TyperNotation": 10,
}
# Hard bounds, past which a field can only be an attack and is refused: four times the
# standard's length (at least 64); for fields without a standard length, generous limits
# of our own that stop abuse without refusing any real package seen.
HARD: dict[str, int] = {
    "OrganId": 64, "DocumentId": 300, "Description": 2000, "BussinessDocReason": 2000,
    "AttachmentName": 255, "ContentId": 255, "ContentType": 255,
    **{name: max(4 * length, 64) for name, length in STANDARD.items()},
}
DEFAULT_LIMIT = 1000
# XML's own white space (S in XML 1.0): str.strip() would also eat U+0085, U+2028, the
# information separators … which then reach the recipient untrimmed.
XML_SPACE = " \t\r\n"


class FieldReader:
    """Reads leaf values, checking length, NFC and format; collects findings."""

    def __init__(self, limits: EdxmlSettings, keep_data: bool, release_text: bool) -> None:
        self.limits = limits
        self.keep_data = keep_data
        self.release_text = release_text
        # Attachment texts the parser left in the package bytes (safexml.parse_lifted).
        self.lifted: Lifted | None = None
        self.findings: list[Finding] = []

    # --- small helpers ---------------------------------------------------------------
    def add(self, code: Code, detail: str, el: Element) -> None:
        self.findings.append(code.finding(detail, path=element_path(el), line=line_of(el)))

    def text(self, el: Element | None, limit_key: str | None = None) -> str:
        if el is None:
            return ""
        value = self.raw_text(el).strip(XML_SPACE)
        if not value:
            return ""
        key = limit_key or el.tag[_NS_LEN:]
        hard = HARD.get(key, DEFAULT_LIMIT)
        standard = STANDARD.get(key)
        if len(value) > hard:
            self.add(errors.FIELD_TOO_LONG, f"{len(value)} characters > {hard}", el)
        elif standard is not None and len(value) > standard:
            self.add(errors.FIELD_OVER_STANDARD,
                     f"{len(value)} characters > {standard} (standard)", el)
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            self.add(errors.TEXT_NOT_NFC, "decomposed Unicode", el)
        return value

    def raw_text(self, el: Element) -> str:
        """All of the element's own text, unstripped. A field the node routes, polices or
        joins on must be one text node (markup.py); any other field is read whole, the
        text around comments and PIs joined, as a recipient's reader would show it."""
        if not has_markup(el):
            return el.text or ""
        if is_strict(el):
            self.add(errors.MARKUP_IN_FIELD, "markup inside the field", el)
        return (el.text or "") + "".join(c.tail or "" for c in el)

    def first(self, kids: dict[str, list[Element]], *names: str) -> Element | None:
        for n in names:
            found = kids.get(n)
            if found:
                return found[0]
        return None

    def field(self, kids: dict[str, list[Element]], *names: str) -> str:
        return self.text(self.first(kids, *names))

    def once(self, kids: dict[str, list[Element]], *names: str) -> None:
        """Refuse a repeat of an element read with `first`: the repeat would be ignored
        here but may be what the next system reads (a second payload, a second type).
        `names` may join spelling variants with `|`."""
        for name in names:
            found = [e for n in name.split("|") for e in kids.get(n, [])]
            if len(found) > 1:
                self.add(errors.SCHEMA_INVALID, f"{name} occurs {len(found)} times", found[1])

    def convert(
        self, el: Element | None, fn: Callable[[str], T], code: Code, what: str
    ) -> T | None:
        value = self.text(el)
        if el is None or not value:
            return None
        try:
            return fn(value)
        except ValueError:
            self.add(code, f"{what}: {value!r}", el)
            return None

    def small_int(self, el: Element | None) -> int | None:
        return self.convert(el, ascii_int, errors.VALUE_INVALID, "not an integer")

    def a_date(self, el: Element | None) -> date | None:
        return self.convert(el, parse_wire_date, errors.DATE_INVALID, "not a valid date")

    def a_timestamp(self, el: Element | None) -> datetime | None:
        return self.convert(
            el, parse_wire_timestamp, errors.DATE_INVALID, "not a valid timestamp"
        )
