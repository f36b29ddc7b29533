"""The values of federation: a peer node, what it listed for us, and how it is doing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class PeerKind(str, Enum):
    VDXP = "vdxp"  # the national axis (or anything speaking its SDK protocol, spec vdxp.md)
    AXIS = "axis"  # another Axis node, reached through its /vdxp/ listener


# Whatever sender a peer brings, when its admission list holds this (the national axis's
# senders are many and unsigned today: spec vdxp.md, "Real traffic").
ANY_SENDER = "*"


@dataclass(frozen=True, slots=True)
class Peer:
    name: str  # the name agencies' `served_by` gives; "national" for the national axis
    kind: PeerKind
    endpoint: str  # the protocol's {endpoint}: every operation is {endpoint}/{operation}
    system_id: str  # this node's system id at the peer
    secret_file: str  # where the shared secret for the peer's HMAC is read from
    added_at: datetime
    # Senders whose unsigned or placeholder-signed packages this peer may bring (Art. 7.1
    # migration, per peer); every such admission is journaled with a warning.
    admit_unsigned: tuple[str, ...] = ()
    # SHA-256 fingerprints of the peer node's own signing certificates: a package signed
    # with one speaks for any agency the peer serves (its node's 01 on a recipient's
    # behalf, Art. 11.2), when the certificate chains to an installed anchor.
    node_certificates: tuple[str, ...] = ()
    # Level-1 groups (H41, G22 …) whose agencies this peer serves even when this node's
    # registry does not list them: routing by province code (axis/federation/provinces.py).
    provinces: tuple[str, ...] = ()
    unreachable_after_s: int = 900  # /readyz degraded when failing longer than this
    active: bool = True
    note: str = ""
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    failing_since: datetime | None = None  # the first failure since the last success
    last_error: str = ""

    def unreachable(self, now: datetime) -> bool:
        """Failing for longer than its bound (the readiness probe's question)."""
        return (self.active and self.failing_since is not None
                and (now - self.failing_since).total_seconds() > self.unreachable_after_s)

    def public(self) -> dict[str, object]:
        """What the admin API and CLI show (the secret file's path, never its content)."""
        def at(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name, "kind": self.kind.value, "endpoint": self.endpoint,
            "system_id": self.system_id, "secret_file": self.secret_file,
            "admit_unsigned": list(self.admit_unsigned),
            "node_certificates": list(self.node_certificates),
            "provinces": list(self.provinces),
            "unreachable_after_s": self.unreachable_after_s, "active": self.active,
            "note": self.note, "added_at": at(self.added_at),
            "last_success_at": at(self.last_success_at),
            "last_failure_at": at(self.last_failure_at),
            "failing_since": at(self.failing_since), "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class Listed:
    """One item a peer holds for us (`getReceivedEdocList`)."""

    doc_id: str  # the peer's transport id
    message_type: str  # edoc, status


class Outcome(str, Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one listed item (`peer_inbound`)."""

    peer: str
    doc_id: str
    message_type: str
    at: datetime
    sha256: str
    outcome: Outcome
    code: str = ""  # the refusal's error code
    acknowledged: str = ""  # "", done, fail


@dataclass(frozen=True, slots=True)
class PeerBacklog:
    """What waits to be forwarded to one peer."""

    waiting: int = 0
    oldest_waiting_at: datetime | None = None
    attempts: int = 0  # attempts spent on the copies still waiting
    next_attempt_at: datetime | None = None
    dead_letters: int = 0
