"""The administrators' operations on peers (issue 10, item 6), once for the CLI and the
admin API: add, list, show, status, resend. Every change is journaled."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from axis import errors
from axis.clock import Clock
from axis.federation.model import Peer, PeerBacklog, PeerKind
from axis.federation.ports import PeerStore
from axis.registry.model import Agency, AgencyState
from axis.registry.rules import normalise_fingerprint
from axis.route.channels.peer import PeerChannel
from axis.route.model import Delivery

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
URL = re.compile(r"https?://[^\s]+")
PROVINCE = re.compile(r"[A-Z]\d{2}")

Journal = Callable[[datetime, str, str, dict[str, object]], None]
AgencyList = Callable[[], list[Agency]]
DeadLetters = Callable[[Sequence[str]], list[Delivery]]


@dataclass(frozen=True, slots=True)
class PeerView:
    """A peer with what waits for it and how many agencies it serves."""

    peer: Peer
    agencies: int
    backlog: PeerBacklog
    unreachable: bool

    def public(self) -> dict[str, object]:
        b = self.backlog
        return {**self.peer.public(), "agencies": self.agencies, "unreachable": self.unreachable,
                "backlog": {
                    "waiting": b.waiting,
                    "oldest_waiting_at": b.oldest_waiting_at.isoformat()
                    if b.oldest_waiting_at else None,
                    "attempts": b.attempts,
                    "next_attempt_at": b.next_attempt_at.isoformat()
                    if b.next_attempt_at else None,
                    "dead_letters": b.dead_letters}}


class PeerAdmin:
    def __init__(self, *, peers: PeerStore, agencies: AgencyList, channel: PeerChannel,
                 dead_letters: DeadLetters, journal: Journal, clock: Clock) -> None:
        self._peers = peers
        self._agencies = agencies
        self._channel = channel
        self._dead_letters = dead_letters
        self._journal = journal
        self._clock = clock

    def add(self, *, name: str, kind: PeerKind, endpoint: str, system_id: str,
            secret_file: str, admit_unsigned: Sequence[str] = (),
            node_certificates: Sequence[str] = (), provinces: Sequence[str] = (),
            unreachable_after_s: int = 900, note: str = "", actor: str) -> Peer:
        bad = errors.PEER_INVALID
        if not NAME.fullmatch(name):
            raise bad.error(f"name {name!r}: lower-case letters, digits, '.', '_', '-'")
        if not URL.fullmatch(endpoint):
            raise bad.error(f"endpoint {endpoint!r}: an http(s) URL")
        if not system_id.strip() or not secret_file.strip():
            raise bad.error("a system id and a secret file are required")
        codes = sorted({c.strip().upper() for c in provinces if c.strip()})
        if any(not PROVINCE.fullmatch(c) for c in codes):
            raise bad.error(f"provinces {codes}: level-1 groups such as H41 or G22")
        if unreachable_after_s < 1:
            raise bad.error("unreachable_after_s: at least 1")
        if self._peers.get(name) is not None:
            raise bad.error(f"peer {name!r} exists")
        at = self._clock.now()
        peer = Peer(name=name, kind=kind, endpoint=endpoint.rstrip("/"),
                    system_id=system_id.strip(), secret_file=secret_file.strip(),
                    added_at=at, admit_unsigned=tuple(a.strip() for a in admit_unsigned
                                                      if a.strip()),
                    node_certificates=tuple(sorted({normalise_fingerprint(f)
                                                    for f in node_certificates})),
                    provinces=tuple(codes),
                    unreachable_after_s=unreachable_after_s, note=note)
        self._peers.add(peer)
        self._journal(at, "peer.added", name, {**peer.public(), "actor": actor})
        return peer

    def set_active(self, name: str, active: bool, *, actor: str) -> Peer:
        peer = self.get(name)
        changed = replace(peer, active=active)
        self._peers.update(changed)
        self._journal(self._clock.now(), "peer.updated", name,
                      {"active": active, "actor": actor})
        return changed

    def get(self, name: str) -> Peer:
        peer = self._peers.get(name)
        if peer is None:
            raise errors.PEER_UNKNOWN.error(repr(name))
        return peer

    def list(self) -> list[Peer]:
        return self._peers.list()

    def served(self, name: str) -> builtins.list[Agency]:
        return [a for a in self._agencies()
                if a.peer == name and a.state is not AgencyState.RETIRED]

    def show(self, name: str) -> PeerView:
        peer = self.get(name)
        served = self.served(name)
        return PeerView(peer, len(served), self._channel.backlog(served),
                        peer.unreachable(self._clock.now()))

    def status(self) -> builtins.list[PeerView]:
        """Every registered peer, and every peer the registry names (`served_by`) that is
        not registered: its agencies' copies wait for it, which the operator must see."""
        views = [self.show(p.name) for p in self._peers.list()]
        known = {v.peer.name for v in views}
        named = {a.peer for a in self._agencies()
                 if a.peer is not None and a.state is not AgencyState.RETIRED}
        for name in sorted(n for n in named - known if n is not None):
            served = self.served(name)
            ghost = Peer(name=name, kind=PeerKind.VDXP, endpoint="", system_id="",
                         secret_file="", added_at=self._clock.now(), active=False,
                         note="not registered: axis peer add / chưa đăng ký")
            views.append(PeerView(ghost, len(served), self._channel.backlog(served), False))
        return views

    def resend(self, name: str, delivery_ids: Sequence[str] = (), *, actor: str,
               reason: str) -> builtins.list[str]:
        """Dead letters of `name` back in its queue (all of them when none is named);
        the ids resent. A named id that is not one of the peer's dead letters is
        `peer.invalid`."""
        served = [a.agency_id for a in self.served(name)]
        dead = {d.delivery_id: d for d in self._dead_letters(served)}
        wanted = list(delivery_ids) or sorted(dead)
        unknown = [i for i in wanted if i not in dead]
        if unknown:
            raise errors.PEER_INVALID.error(
                f"not dead letters of peer {name}: {', '.join(unknown[:5])}")
        resent = [i for i in wanted
                  if self._channel.resend(i, actor=actor, reason=reason)]
        self._journal(self._clock.now(), "peer.resend", name,
                      {"deliveries": resent, "actor": actor, "reason": reason})
        return resent

