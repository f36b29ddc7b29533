"""What federation needs from the edges: the peers' records (adapters/store/peer_repo.py)
and a link to each peer that speaks its protocol (adapters/federation/link.py)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from axis.edxml.model import Kind
from axis.federation.model import Listed, Peer, Taken
from axis.route.model import PackageContent


class PeerStore(Protocol):
    def add(self, peer: Peer) -> None:
        """A new peer (`peer.invalid` when the name is taken)."""
        ...

    def update(self, peer: Peer) -> None: ...

    def get(self, name: str) -> Peer | None: ...

    def list(self) -> builtins.list[Peer]: ...

    def succeeded(self, name: str, at: datetime) -> None:
        """A call to the peer worked: it is reachable (clears `failing_since`)."""
        ...

    def failed(self, name: str, at: datetime, error: str) -> None:
        """A call to the peer failed (sets `failing_since` unless already failing)."""
        ...

    def taken(self, peer: str, doc_id: str) -> Taken | None: ...

    def record_taken(self, taken: Taken) -> None:
        """Insert or replace what became of a listed item."""
        ...


class PeerLink(Protocol):
    """The protocol calls of one peer; every failure raises a `peer.*` AxisError."""

    def send(self, peer: Peer, content: PackageContent, *, sender: str,
             recipients: Sequence[str], kind: Kind) -> str:
        """Hand the package, byte for byte, to the peer for `recipients`; the peer's
        transport id for it."""
        ...

    def listed(self, peer: Peer, message_type: str) -> builtins.list[Listed]: ...

    def fetch(self, peer: Peer, doc_id: str) -> bytes: ...

    def acknowledge(self, peer: Peer, doc_id: str, status: str) -> None:
        """`done` (stored, or already held) or `fail` (refused, with its code journaled)."""
        ...

    def sent(self, peer: Peer) -> builtins.list[dict[str, object]]:
        """What the peer says of what this node sent it (`getSentEdocList`): per
        recipient, senderDocId, toCode, sendStatus, receiveStatus …"""
        ...
