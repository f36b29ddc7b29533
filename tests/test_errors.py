"""The error catalogue: unique stable codes, documented, on the right fault side."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from axis import errors
from axis.errors import CATALOGUE, Fault, NodeFault, SenderFault, Severity

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
CODE_SHAPE = re.compile(r"[a-z]+\.[a-z0-9_]+")


def test_codes_are_unique_and_well_formed() -> None:
    ids = [c.id for c in CATALOGUE.values()]
    assert len(ids) == len(set(ids))
    assert list(CATALOGUE) == ids
    for c in CATALOGUE.values():
        assert CODE_SHAPE.fullmatch(c.id), c.id
        assert c.vi.strip() and c.en.strip() and c.meaning.strip()
        assert c.vi != c.en, f"{c.id}: the Vietnamese message is not a translation"


def test_fault_side_matches_http_status() -> None:
    for c in CATALOGUE.values():
        if c.severity is Severity.WARNING:
            assert c.http_status == 200, c.id
        elif c.fault is Fault.SENDER:
            assert 400 <= c.http_status < 500, c.id
        else:
            assert 500 <= c.http_status < 600, c.id


def test_every_code_is_documented_in_docs_errors_md() -> None:
    doc = DOC.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`"): line for line in doc.splitlines()
            if line.startswith("| `")}
    assert set(rows) == set(CATALOGUE), "run: python tools/gen_errors_doc.py"
    for c in CATALOGUE.values():
        assert c.vi in rows[c.id] and c.en in rows[c.id], c.id


def test_error_class_follows_the_fault_side() -> None:
    sender = errors.DOCTYPE_FORBIDDEN.error("x", path="/edXML", line=3)
    node = errors.INTERNAL.error("boom")
    assert isinstance(sender, SenderFault) and sender.fault is Fault.SENDER
    assert isinstance(node, NodeFault) and node.fault is Fault.NODE
    assert "edxml.doctype_forbidden at /edXML (line 3)" in str(sender)
    assert sender.as_finding().as_dict()["code"] == "edxml.doctype_forbidden"


def test_duplicate_code_is_refused() -> None:
    cat = errors._Catalogue()
    cat.add("a.b", Fault.SENDER, 400, "m", "vi", "en")
    with pytest.raises(ValueError, match="duplicate"):
        cat.add("a.b", Fault.SENDER, 400, "m", "vi", "en")
