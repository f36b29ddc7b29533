"""The agency operations (axis/app/agency.py) called directly on a real node (SQLite,
in-process broker, real signatures, fixed clock), without HTTP: each operation's answer
and each refusal it decides, so that every edge (REST, SOAP, the ones to come) inherits
the same rules from one place."""

from __future__ import annotations

import ast
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from exchange_support import KE_HOACH, NOI_VU, T0, TAI_CHINH, TU_PHAP, UBND, TestNode

from axis import errors
from axis.app.agency import AgencyOperations
from axis.app.values import MAX_DOC_ID, MAX_PAGE, InboxFilters
from axis.auth.gate import Caller
from axis.edxml.model import Kind, Priority, StatusCode
from axis.errors import AxisError, Code
from axis.route.model import DeliveryState, TrailEvent, TransportState

ROOT = Path(__file__).resolve().parent.parent


def caller(t: TestNode, agency_id: str) -> Caller:
    agency = t.node.registry.find(agency_id)
    assert agency is not None
    return Caller(system_id=f"sys-{agency_id}", agency=agency)


def ops(t: TestNode) -> AgencyOperations:
    return t.node.agency


def assert_code(exc: pytest.ExceptionInfo[AxisError], code: Code) -> None:
    assert exc.value.code is code, exc.value.code.id


def refusals(t: TestNode) -> dict[str, dict[str, object]]:
    return {e.subject: e.payload for e in t.node.store.journal()
            if e.kind == "package.refused"}


def sent(t: TestNode, sender: str, recipients: tuple[str, ...], number: int,
         priority: Priority = Priority.NORMAL) -> tuple[str, list[str]]:
    """A document sent by `sender` and moved into the inboxes: (DocumentId, doc ids)."""
    doc_id, raw = t.document(sender, recipients, number, priority=priority)
    receipt = ops(t).send(caller(t, sender), raw)
    t.deliver_all()
    return doc_id, [d.delivery_id for d in receipt.deliveries]


# --- send ----------------------------------------------------------------------------

def test_send_answers_the_receipt_and_wakes_the_delivery_loop(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 1)
    t.node.worker.wake.clear()
    receipt = ops(t).send(caller(t, UBND), raw, Kind.EDOC)
    assert receipt.kind is Kind.EDOC and receipt.document_id == doc_id
    assert receipt.sender_id == UBND and receipt.accepted_at == T0
    assert [d.recipient_id for d in receipt.deliveries] == [NOI_VU, TAI_CHINH]
    assert not receipt.duplicate
    assert t.node.worker.wake.is_set()
    assert ops(t).send(caller(t, UBND), raw).duplicate


def test_send_for_a_child_unit_but_not_for_another_agency(t: TestNode) -> None:
    """Art. 7.1: the signed sender is the caller or one of its child units."""
    _, raw = t.document(NOI_VU, (TAI_CHINH,), 2)
    assert ops(t).send(caller(t, UBND), raw).sender_id == NOI_VU  # Nội vụ is UBND's unit
    _, other = t.document(NOI_VU, (TAI_CHINH,), 3)
    with pytest.raises(AxisError) as exc:
        ops(t).send(caller(t, KE_HOACH), other)
    assert_code(exc, errors.AUTH_SENDER_MISMATCH)
    assert refusals(t)[exc.value.error_id or ""]["code"] == errors.AUTH_SENDER_MISMATCH.id


def test_send_refuses_a_declared_kind_the_package_is_not(t: TestNode) -> None:
    _, raw = t.document(UBND, (NOI_VU,), 4)
    with pytest.raises(AxisError) as exc:
        ops(t).send(caller(t, UBND), raw, Kind.STATUS)
    assert_code(exc, errors.MESSAGE_TYPE_MISMATCH)
    status = t.status(NOI_VU, UBND, "x", StatusCode.ARRIVED)
    with pytest.raises(AxisError) as exc:
        ops(t).send(caller(t, NOI_VU), status, Kind.EDOC)
    assert_code(exc, errors.MESSAGE_TYPE_MISMATCH)


def test_send_refuses_a_package_over_the_size_limit_and_journals_what_was_received(
    t: TestNode,
) -> None:
    limit = t.node.settings.edxml.max_package_bytes
    raw = b"<x/>" + b" " * limit
    body = b"--the transport's own framing--" + raw
    with pytest.raises(AxisError) as exc:
        ops(t).send(caller(t, UBND), raw, received=body)
    assert_code(exc, errors.TOO_LARGE)
    entry = refusals(t)[exc.value.error_id or ""]
    assert entry["code"] == errors.TOO_LARGE.id and entry["bytes"] == len(body)
    assert entry["sha256"] == hashlib.sha256(body).hexdigest()


def test_refused_journals_a_refusal_an_edge_decided(t: TestNode) -> None:
    exc = errors.EMPTY.error("nothing sent")
    ops(t).refused(exc, b"")
    assert exc.error_id and refusals(t)[exc.error_id]["code"] == errors.EMPTY.id


# --- list_received -------------------------------------------------------------------

def test_list_received_urgent_first_paged_and_filtered(t: TestNode) -> None:
    normal_id, _ = sent(t, UBND, (NOI_VU,), 10)
    urgent_id, _ = sent(t, UBND, (NOI_VU,), 11, priority=Priority.FLASH)
    me = caller(t, NOI_VU)
    page = ops(t).list_received(me, InboxFilters(limit=1))
    assert [i.document_id for i in page.items] == [urgent_id]
    assert (page.offset, page.limit, page.next_offset) == (0, 1, 1)
    last = ops(t).list_received(me, InboxFilters(offset=1, limit=1))
    assert [i.document_id for i in last.items] == [normal_id] and last.next_offset is None
    assert ops(t).list_received(me, InboxFilters(kind=Kind.STATUS)).items == ()
    later = t.clock.now() + timedelta(seconds=1)
    assert ops(t).list_received(me, InboxFilters(since=later)).items == ()
    assert len(ops(t).list_received(me, InboxFilters(until=later)).items) == 2
    # Another agency's inbox is its own: nothing of Nội vụ's shows.
    assert ops(t).list_received(caller(t, TAI_CHINH), InboxFilters()).items == ()


@pytest.mark.parametrize("filters", [
    InboxFilters(offset=-1), InboxFilters(offset=1_000_001), InboxFilters(limit=0),
    InboxFilters(limit=MAX_PAGE + 1)])
def test_list_received_refuses_a_page_out_of_bounds(t: TestNode, filters: InboxFilters) -> None:
    with pytest.raises(AxisError) as exc:
        ops(t).list_received(caller(t, NOI_VU), filters)
    assert_code(exc, errors.API_INVALID_REQUEST)


# --- get -----------------------------------------------------------------------------

def test_get_delivers_the_callers_copy_byte_identical(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (NOI_VU,), 20)
    receipt = ops(t).send(caller(t, UBND), raw)
    t.deliver_all()
    copy = ops(t).get(caller(t, NOI_VU), receipt.deliveries[0].delivery_id)
    assert copy.raw == raw
    assert copy.delivery.state is DeliveryState.DELIVERED
    assert copy.delivery.document_id == doc_id and copy.delivery.sender_id == UBND
    assert copy.delivery.delivered_at == T0 and copy.delivery.effective_at == T0


def test_get_refuses_another_agencys_copy_as_unknown(t: TestNode) -> None:
    _, ids = sent(t, UBND, (NOI_VU,), 21)
    for who, doc in ((TAI_CHINH, ids[0]), (NOI_VU, "no-such-copy")):
        with pytest.raises(AxisError) as exc:
            ops(t).get(caller(t, who), doc)
        assert_code(exc, errors.DELIVERY_UNKNOWN)


def test_get_refuses_a_withdrawn_copy(t: TestNode) -> None:
    doc_id, ids = sent(t, UBND, (NOI_VU,), 22)
    ops(t).send(caller(t, UBND), t.recall_document(UBND, (NOI_VU,), doc_id, 23))
    with pytest.raises(AxisError) as exc:
        ops(t).get(caller(t, NOI_VU), ids[0])
    assert_code(exc, errors.DELIVERY_WITHDRAWN)


@pytest.mark.parametrize("bad", ["", "x" * (MAX_DOC_ID + 1), "t-1\x00", "t-\n1"])
def test_get_and_update_status_refuse_a_malformed_doc_id(t: TestNode, bad: str) -> None:
    with pytest.raises(AxisError) as exc:
        ops(t).get(caller(t, NOI_VU), bad)
    assert_code(exc, errors.API_INVALID_REQUEST)
    with pytest.raises(AxisError) as exc:
        ops(t).update_status(caller(t, NOI_VU), bad, TransportState.DONE)
    assert_code(exc, errors.API_INVALID_REQUEST)


# --- update_status -------------------------------------------------------------------

def test_update_status_of_the_callers_copy_only(t: TestNode) -> None:
    _, ids = sent(t, UBND, (NOI_VU,), 30)
    done = ops(t).update_status(caller(t, NOI_VU), ids[0], TransportState.PROCESSING)
    assert (done.doc_id, done.status) == (ids[0], TransportState.PROCESSING)
    with t.node.store.reading() as tx:
        d = tx.get_delivery(ids[0])
    assert d is not None and d.transport_state is TransportState.PROCESSING
    with pytest.raises(AxisError) as exc:
        ops(t).update_status(caller(t, TAI_CHINH), ids[0], TransportState.DONE)
    assert_code(exc, errors.DELIVERY_UNKNOWN)
    # "none" is the state before any report, not one a recipient reports.
    with pytest.raises(AxisError) as exc:
        ops(t).update_status(caller(t, NOI_VU), ids[0], TransportState.NONE)
    assert_code(exc, errors.API_INVALID_REQUEST)


# --- trail ---------------------------------------------------------------------------

def test_trail_is_the_callers_view(t: TestNode) -> None:
    doc_id, ids = sent(t, UBND, (NOI_VU, TAI_CHINH), 40)
    ops(t).get(caller(t, NOI_VU), ids[0])
    # The sender sees every recipient's history of its document …
    mine = ops(t).trail(caller(t, UBND), doc_id)
    assert mine.document_id == doc_id
    assert {e.agency_id for e in mine.entries} >= {NOI_VU, TAI_CHINH}
    assert any(e.event is TrailEvent.DELIVERED for e in mine.entries)
    # … a recipient only its own copy …
    theirs = ops(t).trail(caller(t, TAI_CHINH), doc_id).entries
    assert theirs and {e.agency_id for e in theirs} == {TAI_CHINH}
    assert all(e.delivery_id in (None, ids[1]) for e in theirs)
    # … and a third agency nothing, as for a document that does not exist.
    for who, document in ((TU_PHAP, doc_id), (UBND, "no such document")):
        with pytest.raises(AxisError) as exc:
            ops(t).trail(caller(t, who), document)
        assert_code(exc, errors.API_DOCUMENT_UNKNOWN)


def test_trail_of_a_child_units_document_for_its_parent(t: TestNode) -> None:
    doc_id, _ = sent(t, NOI_VU, (TAI_CHINH,), 41)
    assert ops(t).trail(caller(t, UBND), doc_id).entries
    with pytest.raises(AxisError) as exc:
        ops(t).trail(caller(t, KE_HOACH), doc_id)
    assert_code(exc, errors.API_DOCUMENT_UNKNOWN)


@pytest.mark.parametrize("bad", ["", "d" * 501, "doc\x7f"])
def test_trail_refuses_a_malformed_document_id(t: TestNode, bad: str) -> None:
    with pytest.raises(AxisError) as exc:
        ops(t).trail(caller(t, UBND), bad)
    assert_code(exc, errors.API_INVALID_REQUEST)


# --- agencies ------------------------------------------------------------------------

def test_agencies_leave_out_retired_ones(t: TestNode) -> None:
    t.node.registry.retire(KE_HOACH, actor="test", reason="sáp nhập")
    t.node.registry.suspend(TAI_CHINH, actor="test", reason="bảo trì")
    view = ops(t).agencies(caller(t, NOI_VU))
    assert view.caller == NOI_VU
    by_id = {a.agency_id: a for a in view.agencies}
    assert KE_HOACH not in by_id and by_id[TAI_CHINH].state.value == "suspended"
    assert by_id[NOI_VU].parent_id == UBND


# --- the edges only decode, call and encode --------------------------------------------

def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_edges_reach_the_node_only_through_the_operations() -> None:
    """The class of defect this layer removes: an edge deciding a rule itself (SOAP
    borrowing REST's models, either edge reading the store or the registry)."""
    rest = ROOT / "adapters" / "rest" / "agency.py"
    soap = ROOT / "adapters" / "soap" / "operations.py"
    for edge in (rest, soap):
        imported = _imports(edge)
        assert "adapters.node" not in imported, edge
        assert "axis.auth.visibility" not in imported, edge  # who sees what: the core's
        text = edge.read_text(encoding="utf-8")
        for reach in (".store.", ".registry.", ".exchange.", "speaks_for"):
            assert reach not in text, (edge, reach)
    assert not any(m.startswith("adapters.rest") for m in _imports(soap))


def test_the_application_layer_imports_no_framework_and_no_adapter() -> None:
    for module in (ROOT / "axis" / "app").glob("*.py"):
        for name in _imports(module):
            top = name.split(".")[0]
            assert top not in {"adapters", "fastapi", "starlette", "pydantic", "lxml",
                                "sqlalchemy", "pika", "httpx"}, (module, name)
