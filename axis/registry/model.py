"""The agency registry's values (Art. 8.2: every agency has an identifier set by the
provincial committee; Art. 22: accounts created, changed and revoked on request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

# The peer name of the national axis (VDXP): external agencies' default server.
NATIONAL = "national"


class AgencyKind(str, Enum):
    INTERNAL = "internal"  # inside the province: delivered by this node
    EXTERNAL = "external"  # elsewhere: reached through the national axis


class AgencyState(str, Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # temporarily refused as recipient and as sender
    RETIRED = "retired"  # gone for good; kept for the history of old documents


class DeliveryMode(str, Enum):
    PULL = "pull"  # the agency's system fetches (syncReceivedEdocList / getEdoc)
    PUSH = "push"  # the node posts each package to the agency's endpoint
    AMQP = "amqp"  # the agency consumes its own queue


@dataclass(frozen=True, slots=True)
class Agency:
    agency_id: str  # QCVN 102 form, e.g. 000.00.01.H37: the routing key
    short_id: str  # Decision 20/2020 form, e.g. H37.01
    name: str
    parent_id: str | None = None
    level: int = 1  # 1 province/ministry … 4 commune
    kind: AgencyKind = AgencyKind.INTERNAL
    state: AgencyState = AgencyState.ACTIVE
    delivery_mode: DeliveryMode = DeliveryMode.PULL
    endpoint: str = ""  # push mode: where the node posts
    contact_email: str = ""
    contact_phone: str = ""
    certificates: frozenset[str] = field(default_factory=frozenset)  # sha256 fingerprints
    # Free text for administrators: where the identifier comes from (the seed marks its
    # synthetic and unverified identifiers here), the request an entry was made on, ….
    note: str = ""
    # Which node serves it (issue 10): "" for this node; for an external agency the name
    # of the peer its copies are forwarded to ("national" for the national axis, or
    # another province's Axis node). An external agency with none is served by the
    # national axis, as every agency outside the province was before peers existed.
    served_by: str = ""

    @property
    def active(self) -> bool:
        return self.state is AgencyState.ACTIVE

    @property
    def peer(self) -> str | None:
        """The peer that serves it, or None when this node does."""
        if self.kind is AgencyKind.INTERNAL:
            return None
        return self.served_by or NATIONAL


@dataclass(frozen=True, slots=True)
class AgencyChange:
    """One entry of an agency's history: who changed what, when and why."""

    agency_id: str
    at: datetime
    actor: str
    reason: str
    action: str  # add, update, suspend, reactivate, retire, bind-certificate, …
    before: dict[str, object] | None
    after: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class Credential:
    """An agency system's credential; only a hash of the secret is ever stored."""

    system_id: str
    agency_id: str
    secret_hash: str
    issued_at: datetime
    revoked_at: datetime | None = None
