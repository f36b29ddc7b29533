"""Values of the routing core: deliveries, receipts, the trail, outbox and inbox entries.

A *delivery* is one copy of one package for one recipient (its id is the transport id the
sender gets in its receipt). Its life: QUEUED (accepted, durable, in the outbox or on the
broker) → AVAILABLE (in the recipient's inbox) → DELIVERED (taken: Art. 11.2 receipt time)
or WITHDRAWN (recalled before it was taken, Art. 9.3) or FAILED (dead-lettered), or, for
an agency another node serves, FORWARDED (handed to that peer, issue 10).
Every transition is made by axis/route/delivery.py, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from axis.edxml.model import Kind


class DeliveryState(str, Enum):
    QUEUED = "queued"
    AVAILABLE = "available"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"
    # Handed to the peer node that serves the recipient (issue 10): this node's part is
    # done; the recipient's statuses come back through the peer as packages.
    FORWARDED = "forwarded"


class TransportState(str, Enum):
    """What the recipient's system says of its copy (`updateStatus`, spec §8)."""

    NONE = "none"
    PROCESSING = "processing"
    DONE = "done"
    FAIL = "fail"


class TrailEvent(str, Enum):
    RECEIVED = "received"  # accepted from the sender
    DUPLICATE = "duplicate"  # the same package again: same receipt, no new delivery
    AVAILABLE = "available"  # in the recipient's inbox
    DELIVERED = "delivered"  # taken by the recipient (Art. 11.2)
    STATUS = "status"  # a status package 01–16 about the document
    RECALL = "recall"  # recall requested (Art. 9.3)
    SUPERSEDED = "superseded"  # an update (2) or replacement (3) acting on this document
    WITHDRAWN = "withdrawn"  # copy taken back before delivery
    FAILED = "failed"  # delivery gave up (dead letter)
    REFUSED = "refused"  # the node refused the package
    FORWARDED = "forwarded"  # handed to the peer node serving the recipient (a hop)
    HOP_IN = "hop_in"  # taken from a peer node (the hop that brought it here)


@dataclass(frozen=True, slots=True)
class PackageContent:
    """A stored package handed out without holding it: its digest already checked, its
    bytes read again chunk by chunk when sent (a 45 MB copy is never one object, issue 9).
    `read()` is for the small ones and the edges that need one value (SOAP)."""

    sha256: str
    size: int
    chunks: Callable[[], Iterator[bytes]]

    def read(self) -> bytes:
        return b"".join(self.chunks())


@dataclass(frozen=True, slots=True)
class StoredPackage:
    """A package stored once, content-addressed by the SHA-256 of its raw bytes."""

    sha256: str
    size: int
    kind: Kind
    sender_id: str
    document_id: str
    received_at: datetime
    signature: str  # verdict: verified, placeholder, absent (admitted by policy)
    signer_fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str  # the transport id (UUID), unique per package and recipient
    package_sha256: str
    kind: Kind
    sender_id: str
    recipient_id: str
    document_id: str  # the business DocumentId (for a status: ResponseFor/DocumentId)
    business_type: int | None  # 0–3 for documents
    status_code: str | None  # "01".."16" for status packages
    priority: int
    dedupe_key: str
    state: DeliveryState
    accepted_at: datetime
    available_at: datetime | None = None
    delivered_at: datetime | None = None
    effective_at: datetime | None = None  # Art. 11.2: start of the next office session
    transport_state: TransportState = TransportState.NONE
    origin: str = "sender"  # "sender", or "node" for acknowledgements the node emits


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    entry_id: int
    delivery_id: str
    agency_id: str
    priority: int
    body: bytes
    created_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """What waits for a recipient (listed by syncReceivedEdocList, urgent first)."""

    delivery_id: str
    agency_id: str
    sender_id: str
    kind: Kind
    document_id: str
    business_type: int | None
    status_code: str | None
    priority: int
    available_at: datetime


@dataclass(frozen=True, slots=True)
class TrailEntry:
    document_id: str
    agency_id: str  # whose history this is: the recipient (or the sender for RECEIVED)
    event: TrailEvent
    at: datetime
    delivery_id: str | None = None
    status_code: str | None = None
    effective_at: datetime | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    recipient_id: str
    delivery_id: str
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    """The sender's acknowledgement of acceptance: returned only once durable."""

    kind: Kind
    sender_id: str
    document_id: str
    package_sha256: str
    accepted_at: datetime
    deliveries: tuple[DeliveryReceipt, ...]
    warnings: tuple[str, ...] = ()
    journal_seq: int = 0

    @property
    def duplicate(self) -> bool:
        return bool(self.deliveries) and all(d.duplicate for d in self.deliveries)
