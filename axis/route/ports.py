"""What the routing core needs from storage: a transactional unit of work and a blob store.

Implemented by `adapters/store` (SQLAlchemy: SQLite by default, PostgreSQL by URL). The
orchestrator does every step of a package's life inside one `transaction()`, so a crash
between any two steps leaves either all of a step or none of it (issue 4, durability).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from axis.edxml.model import Kind
from axis.journal.chain import JournalEntry
from axis.route.model import (
    Delivery,
    DeliveryState,
    InboxItem,
    OutboxEntry,
    PackageContent,
    StoredPackage,
    TrailEntry,
)


class RouteTx(Protocol):
    """One database transaction. Committed on normal exit, rolled back on exception."""

    # packages (metadata; the bytes live in PackageBlobs)
    def save_package(self, package: StoredPackage) -> None:
        """Insert unless a row with this sha256 exists (content-addressed: stored once)."""

    def get_package(self, sha256: str) -> StoredPackage | None: ...

    # deliveries
    def find_by_dedupe(self, dedupe_key: str) -> Delivery | None: ...

    def add_delivery(self, delivery: Delivery) -> None:
        """Insert; the dedupe_key is unique, a second insert raises a node fault."""

    def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> Delivery | None:
        """`for_update` locks the row until commit (PostgreSQL FOR UPDATE)."""

    def update_delivery(self, delivery: Delivery) -> None: ...

    def deliveries_of_document(
        self, sender_id: str, document_id: str, kind: Kind = Kind.EDOC
    ) -> list[Delivery]:
        """Every copy of a document the sender sent (all recipients), oldest first."""

    def count_deliveries(self, state: DeliveryState | None = None) -> int: ...

    def deliveries_in_state(self, state: DeliveryState, recipients: Collection[str],
                            limit: int, since: datetime | None = None) -> list[Delivery]:
        """Copies in `state` for any of `recipients` (accepted at or after `since`),
        oldest first (a peer's dead letters and forwarded copies, issue 10)."""

    # reconciliation: what should have moved on and did not (axis/route/reconcile.py)
    def stranded_deliveries(
        self, before: datetime, limit: int, recipients: Collection[str] | None
    ) -> list[Delivery]:
        """Queued deliveries accepted before `before` with no unsent outbox entry: handed
        to the broker (or marked so) yet in no inbox. Urgent first, then oldest."""

    def queued_since(self, before: datetime) -> dict[str, int]:
        """Queued deliveries accepted before `before`, counted per recipient."""

    def delivered_without_arrival(self, before: datetime, limit: int) -> list[Delivery]:
        """Documents taken before `before` for which no status 01 went to the sender."""

    # arrivals due: the node's 01 for a taken copy, signed and queued by a worker
    def add_arrival_due(self, delivery_id: str, taken_at: datetime) -> None:
        """Record, with the take, that the copy's 01 is owed (idempotent)."""

    def claim_arrivals_due(self, limit: int) -> list[tuple[str, datetime]]:
        """(delivery id, taken at) of copies whose 01 is owed, oldest take first; rows
        locked (SKIP LOCKED) so that two workers do not sign the same ones."""

    def clear_arrival_due(self, delivery_id: str) -> None: ...

    # outbox: durable hand-over to the broker
    def add_outbox(
        self, delivery_id: str, agency_id: str, priority: int, body: bytes, at: datetime
    ) -> None: ...

    def claim_outbox(self, limit: int) -> list[OutboxEntry]:
        """Unsent entries, urgent first then oldest; rows locked (SKIP LOCKED) so that two
        nodes sharing the database do not publish the same batch at once."""

    def mark_sent(self, entry_ids: Sequence[int], at: datetime) -> None: ...

    def pending_outbox(self) -> int: ...

    # inbox: what waits for a recipient
    def add_to_inbox(self, item: InboxItem) -> bool:
        """Insert; False (and no change) when this delivery is already there: the
        consumer's deduplication by delivery id."""

    def remove_from_inbox(self, delivery_id: str) -> bool: ...

    def list_inbox(
        self,
        agency_id: str | Sequence[str],
        *,
        kind: Kind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[InboxItem]:
        """Urgent first (priority descending, Art. 7.2), then by arrival; of one agency,
        or of several in one read (a peer's agencies, issue 10)."""

    # trail
    def add_trail(self, entry: TrailEntry) -> None: ...

    def trail(self, document_id: str) -> list[TrailEntry]:
        """Every event about the document, in the order they happened."""

    # journal (same transaction: fail closed)
    def append_journal(
        self, at: datetime, kind: str, subject: str, payload: dict[str, object]
    ) -> JournalEntry:
        """Record an entry, numbered by the store, in this transaction. Appends share no
        lock: a sealer chains committed entries in seq order afterwards, so concurrent
        nodes never fork the chain (axis/journal/chain.py)."""


class RouteStore(Protocol):
    def transaction(self) -> AbstractContextManager[RouteTx]: ...

    def reading(self) -> AbstractContextManager[RouteTx]:
        """A transaction that only reads: never waits behind writers where the engine
        allows it (SQLite WAL readers). Writing in it is a programming error."""

    def journal(self, after_seq: int = 0) -> Iterator[JournalEntry]:
        """Every journal entry after `after_seq`, in order."""


class PackageBlobs(Protocol):
    """Raw package bytes, content-addressed; forwarded byte-identical, never rebuilt."""

    def put(self, raw: bytes, sha256: str | None = None) -> str:
        """Store (durably: fsync before returning) and return the SHA-256 hex digest;
        `sha256`: the digest the caller already computed of these bytes."""

    def get(self, sha256: str) -> bytes: ...

    def content(self, sha256: str) -> PackageContent:
        """The package, its digest checked (`package.corrupt`, `package.missing`), to be
        read in chunks: nothing of it is held until it is sent."""

    def exists(self, sha256: str) -> bool: ...
