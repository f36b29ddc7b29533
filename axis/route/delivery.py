"""One owner of a delivery's state: every transition of a copy happens here.

    (new) ──queued──▶ QUEUED ──available──▶ AVAILABLE ──delivered──▶ DELIVERED
                        │                     │  ▲
                        ├──────withdrawn──────┤  └─requeued── FAILED ◀──failed──┘
                        ▼                     ▼       AVAILABLE ──forwarded──▶ FORWARDED
                                 WITHDRAWN

Each function writes, in the caller's transaction (fail closed), the row, the inbox
change, the trail entry and the journal entry of one transition, and refuses a transition
the state machine does not have (`route.illegal_transition`, a node fault: the callers
check the state they locked first, so reaching it is a bug, never a sender's doing).
Channels call it: the exchange (outbox relay, broker consumers, takes), recall (Art. 9.3)
and push (dead letters and an operator's requeue).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from axis import errors
from axis.clock import iso
from axis.route.model import Delivery, DeliveryState, InboxItem, TrailEntry, TrailEvent
from axis.route.ports import RouteTx

Q, A, D, W, F, FW = (DeliveryState.QUEUED, DeliveryState.AVAILABLE, DeliveryState.DELIVERED,
                     DeliveryState.WITHDRAWN, DeliveryState.FAILED, DeliveryState.FORWARDED)
# transition → the states it may leave. A copy is taken wherever it waits: in the inbox,
# still on its way (a recipient that knows the id), or dead-lettered by push and then
# fetched by the agency itself.
FROM: dict[str, frozenset[DeliveryState]] = {
    "available": frozenset({Q}),
    "delivered": frozenset({Q, A, F}),
    "withdrawn": frozenset({Q, A}),  # Art. 9.3: only a copy not yet taken
    "failed": frozenset({A}),
    "requeued": frozenset({F}),
    # Issue 10: a copy for an agency another node serves leaves from the inbox the
    # delivery worker moved it into, once that peer has accepted it.
    "forwarded": frozenset({A}),
}
MAX_DETAIL = 300  # a trail detail (push errors can be long)


def _check(d: Delivery, transition: str) -> None:
    if d.state not in FROM[transition]:
        raise errors.ILLEGAL_TRANSITION.error(
            f"{d.delivery_id}: {d.state.value} → {transition}")


def _to_inbox(tx: RouteTx, d: Delivery, at: datetime) -> None:
    tx.add_to_inbox(InboxItem(d.delivery_id, d.recipient_id, d.sender_id, d.kind,
                              d.document_id, d.business_type, d.status_code, d.priority, at))


def queued(tx: RouteTx, d: Delivery, outbox_body: bytes, trail: Iterable[TrailEntry],
           payload: dict[str, object], at: datetime) -> Delivery:
    """A new copy: its row, its outbox entry, the trail entries of what it carries, and
    `delivery.queued`."""
    if d.state is not Q:
        raise errors.ILLEGAL_TRANSITION.error(f"{d.delivery_id}: new as {d.state.value}")
    tx.add_delivery(d)
    tx.add_outbox(d.delivery_id, d.recipient_id, d.priority, outbox_body, at)
    for entry in trail:
        tx.add_trail(entry)
    tx.append_journal(at, "delivery.queued", d.delivery_id, payload)
    return d


def available(tx: RouteTx, d: Delivery, at: datetime) -> Delivery:
    """QUEUED → AVAILABLE: in the recipient's inbox."""
    _check(d, "available")
    _to_inbox(tx, d, at)
    d = replace(d, state=A, available_at=at)
    tx.update_delivery(d)
    tx.add_trail(TrailEntry(d.document_id, d.recipient_id, TrailEvent.AVAILABLE, at,
                            d.delivery_id, status_code=d.status_code))
    tx.append_journal(at, "delivery.available", d.delivery_id, {"recipient": d.recipient_id})
    return d


def delivered(tx: RouteTx, d: Delivery, at: datetime, effective: datetime) -> Delivery:
    """→ DELIVERED: taken by the recipient, with the Art. 11.2 receipt time."""
    _check(d, "delivered")
    d = replace(d, state=D, delivered_at=at, effective_at=effective)
    tx.update_delivery(d)
    tx.remove_from_inbox(d.delivery_id)
    tx.add_trail(TrailEntry(d.document_id, d.recipient_id, TrailEvent.DELIVERED, at,
                            d.delivery_id, status_code=d.status_code, effective_at=effective))
    tx.append_journal(at, "delivery.delivered", d.delivery_id, {
        "recipient": d.recipient_id, "at": iso(at), "effective_at": iso(effective)})
    return d


def withdrawn(tx: RouteTx, d: Delivery, at: datetime, *, document_id: str,
              by: str) -> Delivery:
    """→ WITHDRAWN: recalled by `by` before it was taken (Art. 9.3)."""
    _check(d, "withdrawn")
    d = replace(d, state=W)
    tx.update_delivery(d)
    tx.remove_from_inbox(d.delivery_id)
    tx.add_trail(TrailEntry(document_id, d.recipient_id, TrailEvent.WITHDRAWN, at,
                            d.delivery_id,
                            detail="withdrawn before delivery / thu hồi trước khi nhận"))
    tx.append_journal(at, "delivery.withdrawn", d.delivery_id, {
        "recipient": d.recipient_id, "document_id": document_id, "by": by})
    return d


def failed(tx: RouteTx, d: Delivery, at: datetime, *, attempts: int, last_error: str,
           endpoint: str = "", channel: str = "push") -> Delivery:
    """AVAILABLE → FAILED: push (or a peer's forwarding, `channel="peer"`) gave up: a dead
    letter, out of the inbox."""
    _check(d, "failed")
    d = replace(d, state=F)
    tx.update_delivery(d)
    tx.remove_from_inbox(d.delivery_id)
    tx.add_trail(TrailEntry(
        d.document_id, d.recipient_id, TrailEvent.FAILED, at, d.delivery_id,
        status_code=d.status_code,
        detail=f"{channel}: {attempts} attempts; {last_error}"[:MAX_DETAIL]))
    code = errors.PEER_DEAD_LETTERED if channel == "peer" else errors.PUSH_DEAD_LETTERED
    tx.append_journal(at, "delivery.failed", d.delivery_id, {
        "recipient": d.recipient_id, "code": code.id,
        "attempts": attempts, "last_error": last_error, "endpoint": endpoint})
    return d


def forwarded(tx: RouteTx, d: Delivery, at: datetime, *, peer: str, peer_transport_id: str,
              size: int) -> Delivery:
    """AVAILABLE → FORWARDED: the peer serving the recipient accepted the copy, byte for
    byte the sender's package (issue 10). The hop — when, to whom, the peer's id for it,
    the digest of what was handed over — goes into the trail and the journal; the
    recipient's 01 comes back from its own node, not from this one."""
    _check(d, "forwarded")
    d = replace(d, state=FW)
    tx.update_delivery(d)
    tx.remove_from_inbox(d.delivery_id)
    tx.add_trail(TrailEntry(
        d.document_id, d.recipient_id, TrailEvent.FORWARDED, at, d.delivery_id,
        status_code=d.status_code,
        detail=f"peer {peer}: {peer_transport_id}"[:MAX_DETAIL]))
    tx.append_journal(at, "delivery.forwarded", d.delivery_id, {
        "recipient": d.recipient_id, "peer": peer, "peer_transport_id": peer_transport_id,
        "sha256": d.package_sha256, "size": size})
    return d


def requeued(tx: RouteTx, d: Delivery, at: datetime, *, actor: str, reason: str) -> Delivery:
    """FAILED → AVAILABLE: an operator's second chance, back in the inbox."""
    _check(d, "requeued")
    _to_inbox(tx, d, at)
    d = replace(d, state=A, available_at=at)
    tx.update_delivery(d)
    tx.add_trail(TrailEntry(d.document_id, d.recipient_id, TrailEvent.AVAILABLE, at,
                            d.delivery_id, status_code=d.status_code,
                            detail=f"requeued by {actor}"[:MAX_DETAIL]))
    tx.append_journal(at, "delivery.requeued", d.delivery_id, {
        "recipient": d.recipient_id, "actor": actor, "reason": reason})
    return d
