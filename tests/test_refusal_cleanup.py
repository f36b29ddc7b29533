"""Refusals leave nothing behind (issue 8, items 10 and 11).

Every refusal decided by the store's state inside the accept path (a status from an
agency that never received the document, a recall or an update/replacement of a document
the caller did not send) is journaled under the error id the caller gets, and leaves no
bytes of the refused package in the package store. Bytes left by a failed transaction are
collected after a grace period; referenced ones never are.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, UBND, TestNode

from adapters.store.blobs import FileBlobs
from axis import errors
from axis.clock import VN_TZ
from axis.edxml.model import Business, BusinessType, ReplacementInfo, StatusCode
from axis.errors import AxisError
from axis.route import orphans
from axis.route.model import TrailEvent

ROUTE = Path(__file__).resolve().parents[1] / "axis" / "route"


def blob_root(t: TestNode) -> Path:
    return t.node.settings.data_dir / "packages"


def stored_files(t: TestNode) -> set[str]:
    root = blob_root(t)
    return {p.name for p in root.rglob("*") if p.is_file()} if root.is_dir() else set()


def referenced(t: TestNode) -> set[str]:
    with t.node.store.transaction() as tx:
        return {sha for sha in stored_files(t) if tx.get_package(sha) is not None}


def _original(t: TestNode, number: int = 301) -> tuple[str, bytes]:
    doc_id, raw = t.document(UBND, (NOI_VU,), number)
    t.node.exchange.submit(raw)
    return doc_id, raw


def status_from_non_recipient(t: TestNode) -> bytes:
    doc_id, _ = _original(t)
    return t.status(TAI_CHINH, UBND, doc_id, StatusCode.DONE)


def recall_of_another_agencys_document(t: TestNode) -> bytes:
    doc_id, _ = _original(t)
    # TAI_CHINH names UBND's document and sends the recall to its recipient.
    business = Business(doc_type=BusinessType.REVOKE, reason="Thu hồi", document_id=doc_id)
    return t.document(TAI_CHINH, (NOI_VU,), 302, business=business, document_id=doc_id)[1]


def recall_of_a_document_the_recipient_never_got(t: TestNode) -> bytes:
    doc_id, _ = _original(t)
    return t.recall_document(UBND, (KE_HOACH,), doc_id, 303)


def recall_request_status_for_another_agencys_document(t: TestNode) -> bytes:
    doc_id, _ = _original(t)
    # Status 13 (recall request) about UBND's document, sent by a third agency.
    return t.status(TAI_CHINH, NOI_VU, doc_id, StatusCode.RECALL_REQUEST)


def _acting_on(kind: BusinessType) -> Callable[[TestNode], bytes]:
    def make(t: TestNode) -> bytes:
        doc_id, _ = _original(t)
        business = Business(doc_type=kind, reason="Cập nhật", document_id=doc_id)
        return t.document(TAI_CHINH, (NOI_VU,), 304, business=business)[1]
    make.__name__ = f"{kind.name.lower()}_of_another_agencys_document"
    return make


def update_of_an_unknown_document(t: TestNode) -> bytes:
    business = Business(doc_type=BusinessType.UPDATE, reason="Cập nhật",
                        document_id=f"{UBND},2026/11/01,999/UBND-VP")
    return t.document(UBND, (NOI_VU,), 305, business=business)[1]


# Every refusal the store's state decides inside the accept path, one case at least each.
CASES: list[tuple[Callable[[TestNode], bytes], str]] = [
    (status_from_non_recipient, "route.not_recipient"),
    (recall_of_another_agencys_document, "route.recall_target_unknown"),
    (recall_of_a_document_the_recipient_never_got, "route.recall_target_unknown"),
    (recall_request_status_for_another_agencys_document, "route.recall_target_unknown"),
    (_acting_on(BusinessType.UPDATE), "route.update_target_unknown"),
    (_acting_on(BusinessType.REPLACE), "route.update_target_unknown"),
    (update_of_an_unknown_document, "route.update_target_unknown"),
]


@pytest.mark.parametrize(("make", "code"), CASES, ids=[c[0].__name__ for c in CASES])
def test_refused_in_the_accept_path_leaves_no_bytes_and_is_journaled(
    t: TestNode, make: Callable[[TestNode], bytes], code: str
) -> None:
    raw = make(t)
    original = f"{UBND},{t.clock.now():%Y/%m/%d},301/UBND-VP"
    trail_before = t.node.exchange.trail(original)
    before = list(t.node.store.journal())
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(raw)
    assert info.value.code.id == code, info.value
    # Journaled once, in its own transaction, under the id the caller is given.
    after = list(t.node.store.journal())[len(before):]
    assert [(e.kind, e.subject) for e in after] == [("package.refused", info.value.error_id)]
    assert after[0].payload["code"] == code
    assert after[0].payload["sha256"] == hashlib.sha256(raw).hexdigest()
    # Not a byte of it in the package store; what is there is all referenced.
    assert not t.node.exchange.blobs.exists(hashlib.sha256(raw).hexdigest())
    assert stored_files(t) == referenced(t)
    # Nothing half-written: the trail of the acted-on document is as it was, and only
    # the original's copy (when there is one) moves on.
    assert t.node.exchange.trail(original) == trail_before
    assert t.deliver_all() == (1 if trail_before else 0)


def _raised_codes(path: Path) -> set[str]:
    """The codes a module raises as `errors.NAME.error(...)`."""
    names = {node.value.attr for node in ast.walk(ast.parse(path.read_text("utf-8")))
             if isinstance(node, ast.Attribute) and node.attr == "error"
             and isinstance(node.value, ast.Attribute)
             and isinstance(node.value.value, ast.Name) and node.value.value.id == "errors"}
    return {getattr(errors, name).id for name in names}


def test_every_refusal_of_the_accept_path_has_a_case() -> None:
    """The class, not the examples: a new refusal added to the decisions of the accept
    path (recall.py) must come with its case above."""
    decided = {c for c in _raised_codes(ROUTE / "recall.py")
               if errors.code(c).fault is errors.Fault.SENDER}
    assert decided == {code for _, code in CASES}


def test_the_owner_may_update_and_replace_and_the_trail_links_only_that(t: TestNode) -> None:
    doc_id, _ = _original(t)
    own = Business(doc_type=BusinessType.REPLACE, reason="Thay thế", document_id=doc_id)
    t.node.exchange.submit(t.document(UBND, (NOI_VU,), 310, business=own)[1])
    other = Business(doc_type=BusinessType.UPDATE, reason="Cập nhật", document_id=doc_id)
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(t.document(TAI_CHINH, (NOI_VU, KE_HOACH), 311,
                                          business=other)[1])
    assert info.value.code is errors.UPDATE_TARGET_UNKNOWN
    links = [e.detail for e in t.node.exchange.trail(doc_id)
             if e.event is TrailEvent.SUPERSEDED]
    assert links == [f"replace by {UBND},{t.clock.now():%Y/%m/%d},310/UBND-VP"]


def test_a_replacement_list_naming_another_agencys_document_is_refused(t: TestNode) -> None:
    """Every document a ReplacementInfoList names must be the sender's own, not only the
    first (the one the trail links)."""
    mine, _ = _original(t)
    theirs, raw = t.document(TAI_CHINH, (NOI_VU,), 320)
    t.node.exchange.submit(raw)
    business = Business(doc_type=BusinessType.REPLACE, reason="Thay thế", replacements=(
        ReplacementInfo(mine), ReplacementInfo(theirs)))
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 321, business=business)[1])
    assert info.value.code is errors.UPDATE_TARGET_UNKNOWN and theirs in info.value.detail
    only_mine = Business(doc_type=BusinessType.REPLACE, reason="Thay thế",
                         replacements=(ReplacementInfo(mine),))
    t.node.exchange.submit(t.document(UBND, (NOI_VU,), 322, business=only_mine)[1])


def test_a_duplicate_of_an_accepted_package_keeps_its_bytes(t: TestNode) -> None:
    """Content-addressed: bytes accepted once stay whatever a later submission does."""
    _, raw = _original(t)
    again = t.node.exchange.submit(raw)
    assert all(d.duplicate for d in again.deliveries)
    assert t.node.exchange.blobs.exists(hashlib.sha256(raw).hexdigest())


# --- the collector ------------------------------------------------------------------------

def _age(path: Path, seconds: float) -> None:
    old = path.stat().st_mtime - seconds
    os.utime(path, (old, old))


def test_collector_deletes_orphans_and_keeps_referenced_and_recent_bytes(t: TestNode) -> None:
    _, raw = _original(t)
    blobs = t.node.exchange.blobs
    assert isinstance(blobs, FileBlobs)
    kept = hashlib.sha256(raw).hexdigest()
    orphan = blobs.put(b"<edXML>left by a transaction that failed</edXML>")
    recent = blobs.put(b"<edXML>being accepted right now</edXML>")
    stray = blobs.path_of(orphan).parent / ".tmp-interrupted"
    stray.write_bytes(b"half a package")
    for sha in (kept, orphan):
        _age(blobs.path_of(sha), 2 * 3600)
    _age(stray, 2 * 3600)
    now = datetime.now(VN_TZ)
    assert t.node.exchange.collect_orphans(now) == 1
    assert not blobs.exists(orphan) and not stray.exists()
    assert blobs.exists(kept) and blobs.get(kept) == raw  # a row refers to it
    assert blobs.exists(recent)  # inside the grace period: maybe not committed yet
    assert t.node.exchange.collect_orphans(now + orphans.GRACE + timedelta(minutes=1)) == 1
    assert not blobs.exists(recent)


def test_a_resubmission_refreshes_stale_bytes_so_the_collector_keeps_them(
    tmp_path: Path
) -> None:
    """The race with a concurrent accept of the same bytes: a put that finds the file
    refreshes its time, and discard puts back a file touched after it was listed."""
    blobs = FileBlobs(tmp_path)
    sha = blobs.put(b"<edXML/>")
    _age(blobs.path_of(sha), 7200)
    cutoff = datetime.now(VN_TZ) - orphans.GRACE
    assert list(blobs.stale(cutoff)) == [sha]
    blobs.put(b"<edXML/>")  # accepted again meanwhile
    assert not blobs.discard(sha, cutoff)
    assert blobs.get(sha) == b"<edXML/>"
    # A collector killed between its rename and its decision: the file is put back.
    _age(blobs.path_of(sha), 7200)
    aside = blobs.path_of(sha).with_name(f".gc-{sha}-{'0' * 32}")
    os.rename(blobs.path_of(sha), aside)
    assert list(blobs.stale(cutoff)) == [] and blobs.exists(sha)
    assert list(blobs.stale(cutoff)) == [sha] and blobs.discard(sha, cutoff)
    assert not blobs.exists(sha) and list(tmp_path.rglob("*.*")) == []
