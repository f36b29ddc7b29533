"""The peer channel (issue 10): copies for agencies another node serves are handed to that
node — the national axis or another province's Axis — store-and-forward.

Where it sits. The delivery worker moves such a copy into the recipient's inbox like any
pull agency's (AVAILABLE): the inbox is the durable per-peer queue. Each pass takes the
due copies of every peer, urgent first (Art. 7.2), and makes one call per package for all
of its recipients that peer serves (`sendEdoc` takes one package for many recipients).
The package goes byte for byte as the sender signed it: narrowing `To` to the peer's
recipients would break the sender's signature (spec vdxp.md). Once the peer has accepted
it, each copy is FORWARDED (axis/route/delivery.py): the hop — peer, the peer's transport
id, the digest and size handed over — in the trail and the journal. This node then owes
no 01: the recipient's own node sends its statuses back, as packages.

Failures. A call that fails (unreachable, refused, an answer off the protocol) is an
attempt spent by each copy of the package. The next waits `base * 2^(n-1)` capped at
`max_delay`, times a uniform random factor (full jitter), and an urgent copy a fraction
of that (`urgent_factor`). After `max_attempts` the copy is a dead letter (FAILED, out
of the inbox, `node.peer_dead_lettered` in the journal and an ALERT line); an
administrator resends it (`axis peer resend`): back in the inbox with a fresh budget and
the same idempotency key, so a peer that did get it the first time answers "duplicate".

Attempt budgets are the push channel's table (one row per delivery id, claimed by one
worker at a time): a restarted worker keeps each copy's budget. A worker killed after
the peer accepted a package and before the copies were marked sends it again on the next
pass; the receiving node de-duplicates it by its key (sender, DocumentId, business type
or status code, recipient) and acknowledges it `done`: delivered once.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from axis import errors
from axis.clock import Clock, iso
from axis.errors import AxisError
from axis.federation.model import Peer, PeerBacklog
from axis.federation.ports import PeerLink, PeerStore
from axis.registry.model import Agency, DeliveryMode
from axis.route import delivery as deliveries
from axis.route.channels import ChannelReport, dead_letters
from axis.route.channels.push import PushAttemptStore
from axis.route.exchange import Exchange
from axis.route.model import Delivery, DeliveryState
from axis.settings import FederationSettings

log = logging.getLogger("axis.peer")


@dataclass(frozen=True, slots=True)
class _Package:
    """The due copies of one package for one peer: one call hands them all over."""

    sha256: str
    copies: tuple[Delivery, ...]

    @property
    def urgent(self) -> bool:
        return max(d.priority for d in self.copies) >= 1


class PeerChannel:
    """Forwards the copies of agencies served by a peer (chosen by `Agency.peer`, not by
    delivery mode: the mode is the agency's own system's business, at its own node)."""

    mode = DeliveryMode.PULL  # unused for dispatch; the dispatcher asks `Agency.peer`
    inbox = True  # the inbox is the per-peer queue

    def __init__(self, *, exchange: Exchange, peers: PeerStore, link: PeerLink,
                 attempts: PushAttemptStore, clock: Clock, random: Callable[[], float],
                 settings: FederationSettings) -> None:
        self._exchange = exchange
        self._peers = peers
        self._link = link
        self._attempts = attempts
        self._clock = clock
        self._random = random
        self._settings = settings
        self._lock = threading.Lock()

    # --- the pass ------------------------------------------------------------------------
    def run_once(self, agencies: Sequence[Agency]) -> ChannelReport:
        """One pass over the agencies served by peers among `agencies`."""
        if not self._settings.enabled:
            return ChannelReport()
        by_peer: dict[str, list[Agency]] = defaultdict(list)
        for agency in agencies:
            if agency.peer is not None:
                by_peer[agency.peer].append(agency)
        report = ChannelReport()
        with self._lock:
            for name in sorted(by_peer):
                peer = self._peers.get(name)
                if peer is None or not peer.active:
                    continue  # the copies wait, counted in the peer's backlog
                report += self._forward(peer, by_peer[name])
        return report

    def _due(self, peer: Peer, agencies: Sequence[Agency], now: datetime) -> list[_Package]:
        with self._exchange.store.transaction() as tx:  # one read for the whole peer
            items = tx.list_inbox([a.agency_id for a in agencies],
                                  limit=self._settings.batch * 4)
        known = self._attempts.of(i.delivery_id for i in items)
        due = [i for i in items if i.delivery_id not in known
               or known[i.delivery_id].next_attempt_at <= now]
        by_package: dict[str, list[Delivery]] = defaultdict(list)
        with self._exchange.store.transaction() as tx:
            for item in due:
                d = tx.get_delivery(item.delivery_id)
                if d is not None and d.state is DeliveryState.AVAILABLE:
                    by_package[d.package_sha256].append(d)
        packages = [_Package(sha, tuple(ds)) for sha, ds in by_package.items()]
        # Urgent first (Art. 7.2), then the oldest.
        packages.sort(key=lambda p: (-max(d.priority for d in p.copies),
                                     min(d.accepted_at for d in p.copies)))
        return packages[:self._settings.batch]

    def _forward(self, peer: Peer, agencies: Sequence[Agency]) -> ChannelReport:
        report = ChannelReport()
        now = self._clock.now()
        for package in self._due(peer, agencies, now):
            claimed: list[tuple[Delivery, int]] = []
            for d in package.copies:
                attempt = self._attempts.claim(d.delivery_id, now, self._lease())
                if attempt is not None:
                    claimed.append((d, attempt))
            if not claimed:
                continue  # another worker holds them
            copies = tuple(d for d, _ in claimed)
            try:
                transport_id, size = self._send(peer, replace(package, copies=copies))
            except AxisError as exc:
                error = f"{exc.code.id}: {exc.detail}"[:300]
                self._peers.failed(peer.name, self._clock.now(), error)
                report += self._failed(peer, claimed, error, urgent=package.urgent)
                # The peer is failing: the rest of its copies wait for the next pass
                # rather than each costing a timeout now.
                break
            self._peers.succeeded(peer.name, self._clock.now())
            report += self._forwarded(peer, copies, transport_id, size)
        return report

    def _send(self, peer: Peer, package: _Package) -> tuple[str, int]:
        first = package.copies[0]
        content = self._exchange.blobs.content(package.sha256)
        recipients = sorted({d.recipient_id for d in package.copies})
        transport_id = self._link.send(peer, content, sender=first.sender_id,
                                       recipients=recipients, kind=first.kind)
        return transport_id, content.size

    def _forwarded(self, peer: Peer, copies: Sequence[Delivery], transport_id: str,
                   size: int) -> ChannelReport:
        at = self._clock.now()
        done = 0
        with self._exchange.store.transaction() as tx:
            for d in copies:
                locked = tx.get_delivery(d.delivery_id, for_update=True)
                if locked is None or locked.state is not DeliveryState.AVAILABLE:
                    # Recalled while the call was in flight (Art. 9.3): the peer has the
                    # package; the sender's recall answer was already given here.
                    log.warning("forwarded %s to peer %s but it is now %s",
                                d.delivery_id, peer.name,
                                locked.state.value if locked else "gone")
                    continue
                deliveries.forwarded(tx, locked, at, peer=peer.name,
                                     peer_transport_id=transport_id, size=size)
                done += 1
        for d in copies:
            self._attempts.forget(d.delivery_id)
        return ChannelReport(delivered=done)

    def _failed(self, peer: Peer, claimed: Sequence[tuple[Delivery, int]], error: str, *,
                urgent: bool) -> ChannelReport:
        report = ChannelReport()
        now = self._clock.now()
        for d, attempt in claimed:
            if attempt >= self._settings.max_attempts:
                self.dead_letter(d.delivery_id, attempts=attempt, last_error=error,
                                 peer=peer.name)
                report += ChannelReport(dead_lettered=1)
                continue
            due = now + self.backoff(attempt, urgent=urgent)
            self._attempts.failed(d.delivery_id, due=due, error=error)
            with self._exchange.store.transaction() as tx:
                tx.append_journal(now, "delivery.peer_failed", d.delivery_id, {
                    "recipient": d.recipient_id, "peer": peer.name, "attempt": attempt,
                    "error": error, "next_attempt_at": iso(due)})
            report += ChannelReport(retried=1)
        log.warning("forwarding to peer %s failed (%d copies): %s", peer.name, len(claimed),
                    error)
        return report

    def backoff(self, attempt: int, *, urgent: bool = False) -> timedelta:
        """The wait after failed attempt `attempt`: capped exponential, full jitter; an
        urgent copy waits `urgent_factor` of it."""
        s = self._settings
        ceiling = min(s.max_delay_seconds, s.base_delay_seconds * 2 ** (attempt - 1))
        if urgent:
            ceiling *= s.urgent_factor
        return timedelta(seconds=ceiling * min(max(self._random(), 0.0), 1.0))

    def _lease(self) -> timedelta:
        # Long enough for the call to end (its timeout) and the outcome to be written.
        return timedelta(seconds=3 * self._settings.timeout_seconds + 30)

    # --- dead letters and resending ------------------------------------------------------
    def dead_letter(self, delivery_id: str, *, attempts: int, last_error: str,
                    peer: str) -> bool:
        d = dead_letters.give_up(self._exchange, self._attempts, delivery_id,
                                 at=self._clock.now(), attempts=attempts,
                                 last_error=last_error, endpoint=f"peer:{peer}",
                                 channel="peer")
        if d is None:
            return False
        log.error("ALERT %s: delivery %s to %s (peer %s) dead-lettered after %d attempts: "
                  "%s", errors.PEER_DEAD_LETTERED.id, delivery_id, d.recipient_id, peer,
                  attempts, last_error)
        return True

    def resend(self, delivery_id: str, *, actor: str, reason: str) -> bool:
        """A dead letter back in the peer's queue with a fresh budget (same idempotency
        key); False when the copy is not a dead letter."""
        return dead_letters.requeue(self._exchange, self._attempts, delivery_id,
                                    at=self._clock.now(), actor=actor, reason=reason)

    # --- what operators see --------------------------------------------------------------
    def backlog(self, agencies: Sequence[Agency]) -> PeerBacklog:
        """What waits for the agencies of one peer: copies, the oldest, attempts spent."""
        ids = [a.agency_id for a in agencies]
        with self._exchange.store.transaction() as tx:  # two reads for the whole peer
            waiting = tx.list_inbox(ids, limit=10_000) if ids else []
            dead = len(tx.deliveries_in_state(DeliveryState.FAILED, ids, 10_000))
        rows = self._attempts.of(i.delivery_id for i in waiting)
        return PeerBacklog(
            waiting=len(waiting),
            oldest_waiting_at=min((i.available_at for i in waiting), default=None),
            attempts=sum(r.attempts for r in rows.values()),
            next_attempt_at=min((r.next_attempt_at for r in rows.values()), default=None),
            dead_letters=dead)
