"""Agency identifiers (both forms) and document identifiers (Art. 8.2, 8.3; spec §7).

Real data is messy, so a shape check here only ever produces a warning: the registry,
not the shape, decides whether an agency exists.
"""

from __future__ import annotations

import re

from axis.clock import parse_wire_date
from axis.edxml.model import DocumentRef

# QCVN 102:2016: NNN.NN.NN.XNN, level 1 last (e.g. 000.00.00.H37).
QCVN_ID = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
# Decision 20/2020/QĐ-TTg: level 1 first, further levels appended (e.g. H37, G09.01).
DECISION20_ID = re.compile(r"[A-Z]\d{2}(?:\.\d{2,3}){0,3}")


def agency_id_shape_ok(organ_id: str) -> bool:
    return bool(QCVN_ID.fullmatch(organ_id) or DECISION20_ID.fullmatch(organ_id))


def qcvn_to_decision20(organ_id: str) -> str | None:
    """`000.00.12.H37` → `H37.12`; levels read right to left, zero groups unused."""
    if not QCVN_ID.fullmatch(organ_id):
        return None
    l4, l3, l2, l1 = organ_id.split(".")
    parts = [l1] + [g for g in (l2, l3, l4) if int(g) != 0]
    return ".".join(parts)


def parse_document_id(document_id: str) -> DocumentRef | None:
    """`<issuer>,<yyyy/MM/dd>,<number>/<notation>`; None when not in the comma form.

    An impossible date (`2014/02/30` occurs in real data) leaves `issued_on` None: the
    caller decides whether that is a warning.
    """
    parts = document_id.split(",", 2)
    if len(parts) != 3:
        return None
    issuer, day, code = (p.strip() for p in parts)
    try:
        issued_on = parse_wire_date(day)
    except ValueError:
        issued_on = None
    number, _, notation = code.partition("/")
    return DocumentRef(issuer=issuer, issued_on=issued_on, number=number, notation=notation)


def document_id_date_invalid(document_id: str) -> bool:
    parts = document_id.split(",", 2)
    if len(parts) != 3:
        return False
    try:
        parse_wire_date(parts[1])
    except ValueError:
        return True
    return False
