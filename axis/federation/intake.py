"""What peers bring (issue 10): each peer polled for documents and statuses, each item
fetched and put through the node's own pipeline, then acknowledged.

A package from a peer is validated, verified and routed as any other: the only
differences are that the peer's admission list may let an unsigned sender through (real
national traffic is unsigned today; every such admission is journaled with
`trust.unsigned_admitted`), that the sender must be an agency another node serves (a peer
cannot speak for this province's agencies), and that only this node's agencies get a copy
(the package's other recipients are their own nodes' business: axis/route/policy.py).

Acknowledgement: `done` when the package is stored here — and also when it was already
(a duplicate from a peer is success, or the peer keeps resending it: spec vdxp.md);
`fail` only when the node refuses it, with the refusal journaled under its code. A node
fault (the database down) acknowledges nothing: the item stays listed and is taken on a
later poll. What became of each item is kept (`peer_inbound`), so a lost acknowledgement
is repeated without fetching the package again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from axis import errors
from axis.clock import Clock
from axis.edxml.model import Kind
from axis.errors import AxisError, SenderFault
from axis.federation.model import Outcome, Peer, PeerKind, Taken
from axis.federation.ports import PeerLink, PeerStore
from axis.registry.model import Agency
from axis.route.exchange import Exchange, PeerAdmission
from axis.route.model import Receipt, TrailEntry, TrailEvent
from axis.route.policy import AgencyDirectory

log = logging.getLogger("axis.peer")

MESSAGE_TYPES = (("edoc", Kind.EDOC), ("status", Kind.STATUS))


@dataclass(frozen=True, slots=True)
class IntakeReport:
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    acknowledged_again: int = 0
    failed_peers: tuple[str, ...] = ()

    def __add__(self, other: IntakeReport) -> IntakeReport:
        return IntakeReport(self.accepted + other.accepted,
                            self.duplicates + other.duplicates,
                            self.refused + other.refused,
                            self.acknowledged_again + other.acknowledged_again,
                            self.failed_peers + other.failed_peers)


class PeerIntake:
    def __init__(self, *, exchange: Exchange, peers: PeerStore, link: PeerLink,
                 directory: AgencyDirectory, clock: Clock,
                 on_queued: Callable[[], None] = lambda: None,
                 resolve_unknown: Callable[[str], Agency | None] | None = None) -> None:
        self._exchange = exchange
        self._peers = peers
        self._link = link
        self._directory = directory
        self._clock = clock
        self._on_queued = on_queued
        self._resolve_unknown = resolve_unknown

    def poll_all(self) -> IntakeReport:
        report = IntakeReport()
        for peer in self._peers.list():
            # An Axis peer hands its packages over itself (our /vdxp/ sendEdoc): only
            # the national axis's protocol keeps them for us to fetch.
            if peer.active and peer.kind is PeerKind.VDXP:
                report += self.poll(peer)
        return report

    def poll(self, peer: Peer) -> IntakeReport:
        """Everything `peer` lists for this node, documents then statuses."""
        report = IntakeReport()
        try:
            for message_type, kind in MESSAGE_TYPES:
                for item in self._link.listed(peer, message_type):
                    report += self._take(peer, item.doc_id, message_type, kind)
        except AxisError as exc:
            if not exc.code.id.startswith("peer."):
                raise  # the node's own fault (its database): nothing acknowledged
            self._peers.failed(peer.name, self._clock.now(), f"{exc.code.id}: {exc.detail}"
                               [:300])
            log.warning("polling peer %s failed: %s", peer.name, exc)
            return report + IntakeReport(failed_peers=(peer.name,))
        self._peers.succeeded(peer.name, self._clock.now())
        return report

    def _take(self, peer: Peer, doc_id: str, message_type: str, kind: Kind) -> IntakeReport:
        known = self._peers.taken(peer.name, doc_id)
        if known is not None:
            # Taken before; the acknowledgement was lost (or never sent): repeat it.
            status = "fail" if known.outcome is Outcome.REFUSED else "done"
            self._link.acknowledge(peer, doc_id, status)
            self._peers.record_taken(_acked(known, status))
            return IntakeReport(acknowledged_again=1)
        raw = self._link.fetch(peer, doc_id)
        at = self._clock.now()
        sha = hashlib.sha256(raw).hexdigest()
        try:
            receipt = self._exchange.submit(
                raw, kind=kind, sender_allowed=self._served_elsewhere,
                peer_admits=PeerAdmission(peer.name, frozenset(peer.admit_unsigned)),
                local_only=True)
        except SenderFault as exc:  # journaled by the exchange under its error id
            taken = Taken(peer.name, doc_id, message_type, at, sha, Outcome.REFUSED,
                          code=exc.code.id)
            self._peers.record_taken(taken)
            self._link.acknowledge(peer, doc_id, "fail")
            self._peers.record_taken(_acked(taken, "fail"))
            log.warning("refused %s from peer %s: %s", doc_id, peer.name, exc)
            return IntakeReport(refused=1)
        outcome = Outcome.DUPLICATE if receipt.duplicate else Outcome.ACCEPTED
        self._hop_in(peer, doc_id, message_type, receipt, sha, len(raw), outcome)
        taken = Taken(peer.name, doc_id, message_type, at, sha, outcome)
        self._peers.record_taken(taken)
        self._on_queued()
        self._link.acknowledge(peer, doc_id, "done")
        self._peers.record_taken(_acked(taken, "done"))
        if outcome is Outcome.DUPLICATE:
            return IntakeReport(duplicates=1)
        return IntakeReport(accepted=1)

    def accept_pushed(self, peer_name: str, raw: bytes, kind: Kind) -> Receipt:
        """A package another Axis node handed over (its /vdxp/ sendEdoc, issue 10 item 5):
        the same pipeline as a polled one; a duplicate is a success (its receipt says
        so), a refusal raises with its code (journaled by the exchange)."""
        peer = self._peers.get(peer_name)
        if peer is None or not peer.active:
            raise errors.PEER_UNKNOWN.error(f"{peer_name!r} is not an active peer here")
        sha = hashlib.sha256(raw).hexdigest()
        receipt = self._exchange.submit(
            raw, kind=kind, sender_allowed=self._served_elsewhere,
            peer_admits=PeerAdmission(peer.name, frozenset(peer.admit_unsigned)),
            local_only=True)
        outcome = Outcome.DUPLICATE if receipt.duplicate else Outcome.ACCEPTED
        doc_id = f"push:{sha}"
        self._hop_in(peer, doc_id, kind.value, receipt, sha, len(raw), outcome)
        self._peers.record_taken(Taken(peer.name, doc_id, kind.value, self._clock.now(), sha,
                                       outcome, acknowledged="done"))
        self._peers.succeeded(peer.name, self._clock.now())
        self._on_queued()
        return receipt

    def _served_elsewhere(self, sender: str) -> bool:
        """A peer speaks for agencies other nodes serve, never for this node's own."""
        agency = self._directory.find(sender)
        if agency is None and self._resolve_unknown is not None:
            agency = self._resolve_unknown(sender)  # its province's peer (provinces.py)
        return agency is not None and agency.peer is not None

    def _hop_in(self, peer: Peer, doc_id: str, message_type: str, receipt: Receipt,
                sha: str, size: int, outcome: Outcome) -> None:
        """The hop that brought the package, in each new copy's trail and the journal."""
        at = self._clock.now()
        with self._exchange.store.transaction() as tx:
            for d in receipt.deliveries:
                if not d.duplicate:
                    tx.add_trail(TrailEntry(
                        receipt.document_id, d.recipient_id, TrailEvent.HOP_IN, at,
                        d.delivery_id, detail=f"from peer {peer.name}: {doc_id}"[:300]))
            tx.append_journal(at, "peer.received", doc_id, {
                "peer": peer.name, "message_type": message_type, "sha256": sha,
                "size": size, "outcome": outcome.value,
                "deliveries": [d.delivery_id for d in receipt.deliveries]})


def _acked(taken: Taken, status: str) -> Taken:
    return Taken(taken.peer, taken.doc_id, taken.message_type, taken.at, taken.sha256,
                 taken.outcome, taken.code, status)
