"""The delivery state machine (axis/route/delivery.py) on a real node's store (SQLite):
every transition from every state, legal ones writing row, inbox, trail and journal
together, illegal ones refused with `route.illegal_transition` and leaving nothing."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from exchange_support import NOI_VU, UBND, TestNode

from axis import errors
from axis.errors import AxisError
from axis.route import delivery as deliveries
from axis.route.model import Delivery, DeliveryState, TrailEvent

S = DeliveryState


def a_copy(t: TestNode, number: int) -> Delivery:
    """A queued copy for Nội vụ (still in the outbox)."""
    _, raw = t.document(UBND, (NOI_VU,), number)
    receipt = t.node.exchange.submit(raw)
    with t.node.store.reading() as tx:
        d = tx.get_delivery(receipt.deliveries[0].delivery_id)
    assert d is not None and d.state is S.QUEUED
    return d


def in_state(t: TestNode, d: Delivery, state: DeliveryState) -> Delivery:
    """`d` forced into `state` (the row only), to try every transition from it."""
    with t.node.store.transaction() as tx:
        forced = replace(d, state=state)
        tx.update_delivery(forced)
    return forced


def apply(t: TestNode, transition: str, d: Delivery) -> Delivery:
    at = t.clock.now() + timedelta(minutes=1)
    with t.node.store.transaction() as tx:
        locked = tx.get_delivery(d.delivery_id, for_update=True)
        assert locked is not None
        if transition == "available":
            return deliveries.available(tx, locked, at)
        if transition == "delivered":
            return deliveries.delivered(tx, locked, at, at)
        if transition == "withdrawn":
            return deliveries.withdrawn(tx, locked, at, document_id=d.document_id, by=UBND)
        if transition == "failed":
            return deliveries.failed(tx, locked, at, attempts=3, last_error="HTTP 503")
        if transition == "forwarded":
            return deliveries.forwarded(tx, locked, at, peer="national",
                                        peer_transport_id="vdxp-1", size=1)
        assert transition == "requeued"
        return deliveries.requeued(tx, locked, at, actor="ops", reason="endpoint fixed")


TARGET = {"available": S.AVAILABLE, "delivered": S.DELIVERED, "withdrawn": S.WITHDRAWN,
          "failed": S.FAILED, "requeued": S.AVAILABLE, "forwarded": S.FORWARDED}
JOURNAL = {"available": "delivery.available", "delivered": "delivery.delivered",
           "withdrawn": "delivery.withdrawn", "failed": "delivery.failed",
           "requeued": "delivery.requeued", "forwarded": "delivery.forwarded"}
TRAIL = {"available": TrailEvent.AVAILABLE, "delivered": TrailEvent.DELIVERED,
         "withdrawn": TrailEvent.WITHDRAWN, "failed": TrailEvent.FAILED,
         "requeued": TrailEvent.AVAILABLE, "forwarded": TrailEvent.FORWARDED}
IN_INBOX = {"available": True, "delivered": False, "withdrawn": False, "failed": False,
            "requeued": True, "forwarded": False}


def observed(t: TestNode, d: Delivery) -> tuple[DeliveryState, int, int, bool]:
    """State, trail length, journal length, whether it is in the inbox."""
    with t.node.store.reading() as tx:
        row = tx.get_delivery(d.delivery_id)
        trail = len(tx.trail(d.document_id))
        inbox = any(i.delivery_id == d.delivery_id for i in tx.list_inbox(NOI_VU))
    assert row is not None
    return row.state, trail, sum(1 for _ in t.node.store.journal()), inbox


@pytest.mark.parametrize("transition", sorted(deliveries.FROM))
def test_every_transition_from_every_state(t: TestNode, transition: str) -> None:
    for n, state in enumerate(S):
        d = in_state(t, a_copy(t, 100 + n), state)
        before = observed(t, d)
        if state in deliveries.FROM[transition]:
            after = apply(t, transition, d)
            assert after.state is TARGET[transition]
            got_state, trail, journal, inbox = observed(t, d)
            assert got_state is TARGET[transition] and inbox is IN_INBOX[transition]
            assert trail == before[1] + 1 and journal == before[2] + 1
            entries = [e for e in t.node.store.journal() if e.subject == d.delivery_id]
            assert entries[-1].kind == JOURNAL[transition]
            with t.node.store.reading() as tx:
                assert tx.trail(d.document_id)[-1].event is TRAIL[transition]
        else:
            with pytest.raises(AxisError) as exc:
                apply(t, transition, d)
            assert exc.value.code is errors.ILLEGAL_TRANSITION
            assert exc.value.code.fault.value == "node"
            assert observed(t, d) == before  # rolled back: nothing written


def test_a_new_copy_is_queued_only_as_queued(t: TestNode) -> None:
    d = replace(a_copy(t, 1), delivery_id="another", dedupe_key="another",
                state=S.AVAILABLE)
    with pytest.raises(AxisError) as exc, t.node.store.transaction() as tx:
        deliveries.queued(tx, d, b"{}", (), {}, t.clock.now())
    assert exc.value.code is errors.ILLEGAL_TRANSITION
    with t.node.store.reading() as tx:
        assert tx.get_delivery("another") is None


def test_the_channels_go_through_the_state_machine(t: TestNode) -> None:
    """Outbox → inbox → taken, and a recall of an untaken copy, each through the module
    (the journal names each transition once)."""
    d = a_copy(t, 2)
    t.deliver_all()
    t.node.exchange.take(NOI_VU, d.delivery_id)
    e = a_copy(t, 3)
    t.node.exchange.submit(t.recall_document(UBND, (NOI_VU,), e.document_id, 4))
    kinds = [j.kind for j in t.node.store.journal() if j.subject in (d.delivery_id,
                                                                    e.delivery_id)]
    assert kinds == ["delivery.queued", "delivery.available", "delivery.delivered",
                     "delivery.queued", "delivery.withdrawn"]


def test_no_module_but_the_state_machine_changes_a_deliverys_state() -> None:
    """The class of defect: a transition written by hand somewhere else (the row without
    its trail or journal, or from a state the machine does not allow). A copy is created
    QUEUED by the exchange and handed to `delivery.queued`; no other module sets a state."""
    root = Path(__file__).resolve().parent.parent
    owner = root / "axis" / "route" / "delivery.py"
    for path in [*(root / "axis").rglob("*.py"), *(root / "adapters").rglob("*.py")]:
        if path == owner:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and any(
                k.arg == "state" and "DeliveryState" in ast.unparse(k.value)
                for k in node.keywords
            ):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                assert name == "Delivery", f"{path.relative_to(root)}:{node.lineno}"
