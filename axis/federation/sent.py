"""Reconciling what was forwarded with what the national axis says it did with it
(`getSentEdocList`, issue 10 item 3), on the scheduler.

A copy this node forwarded is `forwarded` here: its further fate is the national axis's
and the recipient's, and the statuses the recipient sends back are the normal signal.
This pass is the check when they do not come: for each copy forwarded to a `vdxp` peer
in the last days, the peer's sent list must have a row for (our transport id, recipient).
A copy with no row is **missing** (the peer accepted the call and lost the package, or
its list is truncated); a row with `sendStatus: fail` is **undeliverable** there (no
center serves the recipient). Both are journaled (`peer.sent_reconciled`, the delivery
ids named) and logged for the operator, who resends (`axis peer resend` works on dead
letters; a missing copy is a question for the peer's operator first). Nothing is changed
automatically: a list the peer truncates must not make this node send twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from axis.clock import Clock
from axis.federation.model import Peer, PeerKind
from axis.federation.ports import PeerLink, PeerStore
from axis.registry.model import Agency
from axis.route.exchange import Exchange
from axis.route.model import DeliveryState, TrailEvent

log = logging.getLogger("axis.peer")

WINDOW = timedelta(days=7)
LIMIT = 5000  # forwarded copies checked per peer and pass
LISTED = 50  # delivery ids named in the journal entry per kind


@dataclass(frozen=True, slots=True)
class SentReport:
    peer: str
    checked: int
    confirmed: int
    missing: tuple[str, ...]  # delivery ids
    undeliverable: tuple[str, ...]

    def public(self) -> dict[str, object]:
        return {"peer": self.peer, "checked": self.checked, "confirmed": self.confirmed,
                "missing": list(self.missing), "undeliverable": list(self.undeliverable)}


def transport_id(detail: str, peer: str) -> str | None:
    """The peer's id for a copy from its `forwarded` trail detail ("peer NAME: ID")."""
    prefix = f"peer {peer}: "
    return detail[len(prefix):] if detail.startswith(prefix) else None


class SentReconciler:
    def __init__(self, *, exchange: Exchange, peers: PeerStore, link: PeerLink,
                 agencies: Callable[[], list[Agency]], clock: Clock) -> None:
        self._exchange = exchange
        self._peers = peers
        self._link = link
        self._agencies = agencies
        self._clock = clock

    def run(self) -> list[SentReport]:
        return [self.reconcile(p) for p in self._peers.list()
                if p.active and p.kind is PeerKind.VDXP]

    def reconcile(self, peer: Peer, now: datetime | None = None) -> SentReport:
        at = now or self._clock.now()
        rows = self._link.sent(peer)
        listed: dict[tuple[str, str], dict[str, object]] = {
            (str(r.get("senderDocId", "")), str(r.get("toCode", ""))): r for r in rows}
        served = [a.agency_id for a in self._agencies() if a.peer == peer.name]
        confirmed, missing, undeliverable = 0, [], []
        with self._exchange.store.transaction() as tx:
            copies = tx.deliveries_in_state(DeliveryState.FORWARDED, served, LIMIT,
                                            since=at - WINDOW)
            for d in copies:
                ids = [transport_id(e.detail, peer.name) for e in tx.trail(d.document_id)
                       if e.delivery_id == d.delivery_id and e.event is TrailEvent.FORWARDED]
                row = next((listed[k] for i in ids if i
                            for k in ((i, d.recipient_id),) if k in listed), None)
                if row is None:
                    missing.append(d.delivery_id)
                elif str(row.get("sendStatus", "")).lower() == "fail":
                    undeliverable.append(d.delivery_id)
                else:
                    confirmed += 1
            report = SentReport(peer.name, len(copies), confirmed, tuple(missing),
                                tuple(undeliverable))
            tx.append_journal(at, "peer.sent_reconciled", peer.name, {
                "checked": report.checked, "confirmed": confirmed,
                "missing": len(missing), "undeliverable": len(undeliverable),
                "missing_ids": missing[:LISTED], "undeliverable_ids": undeliverable[:LISTED]})
        if missing or undeliverable:
            log.warning("peer %s: %d forwarded copies missing from its sent list, %d "
                        "undeliverable there", peer.name, len(missing), len(undeliverable))
        return report
