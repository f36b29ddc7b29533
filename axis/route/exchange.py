"""The orchestrator: accept → parse → validate → verify → policy → route → acknowledge.

Every state change happens in one store transaction together with its trail and journal
entries (fail closed): the receipt exists only once the package, its deliveries and their
outbox entries are committed. The hand-over to the broker and into the inboxes
(axis/route/handover.py) takes it from there, with the same guarantee: a crash between
any two steps loses nothing and duplicates nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from axis import errors
from axis.calendar import WorkCalendar
from axis.clock import Clock, iso
from axis.edxml.model import (
    BusinessType,
    DocumentPackage,
    Kind,
    Organ,
    Package,
    StatusCode,
    StatusPackage,
)
from axis.errors import AxisError, Finding, SenderFault
from axis.registry.model import Agency
from axis.route import delivery as deliveries
from axis.route import orphans, recall
from axis.route.acks import Signer, node_status
from axis.route.broker import BrokerPort
from axis.route.evidence import RefusedEvidence
from axis.route.keys import dedupe_key, document_id_of, outbox_body, priority_of
from axis.route.model import (
    Delivery,
    DeliveryReceipt,
    DeliveryState,
    InboxItem,
    PackageContent,
    Receipt,
    StoredPackage,
    TrailEntry,
    TrailEvent,
    TransportState,
)
from axis.route.policy import AgencyDirectory, route
from axis.route.ports import PackageBlobs, RouteStore, RouteTx

# Accept transactions tried when a concurrent acceptance of the same copy wins a race.
ACCEPT_TRIES = 3


@dataclass(frozen=True, slots=True)
class Checked:
    """What the trust stage hands on: the package read from the signed content."""

    package: Package
    signature: str  # verified, or absent/placeholder admitted by the migration policy
    signer_fingerprint: str = ""
    warnings: tuple[Finding, ...] = ()


TrustStage = Callable[[bytes, datetime], Checked]


@dataclass(frozen=True, slots=True)
class PeerAdmission:
    """A peer node's admission list of unsigned senders ("*": any), issue 10."""

    peer: str
    admits: frozenset[str]


# The same stage judging with a peer's admission list added.
PeerTrustStage = Callable[[bytes, datetime, PeerAdmission], Checked]


@dataclass(slots=True)
class Exchange:
    store: RouteStore
    blobs: PackageBlobs
    broker: BrokerPort
    directory: AgencyDirectory
    trust: TrustStage
    signer: Signer
    calendar: WorkCalendar
    clock: Clock
    new_id: Callable[[], str]
    peer_trust: PeerTrustStage | None = None
    # Issue 10: a recipient the registry does not know, routed by its province code.
    resolve_unknown: Callable[[str], Agency | None] | None = None
    # Issue 11: the bytes of packages the pipeline refused, kept for `axis audit replay`.
    evidence: RefusedEvidence | None = None

    # --- accept ---------------------------------------------------------------------
    def submit(
        self, raw: bytes, *, kind: Kind | None = None,
        sender_allowed: Callable[[str], bool] | None = None,
        peer_admits: PeerAdmission | None = None, local_only: bool = False,
    ) -> Receipt:
        """Accept a package or raise the refusal, journaled with its error id.

        From a peer node (issue 10, axis/federation/intake.py): `peer_admits` is that
        peer's admission list of unsigned senders, `local_only` routes to this node's
        agencies only (axis/route/policy.py).

        From an authenticated edge: `kind` is what the caller declared (messageType) and
        `sender_allowed` authorises the signed sender (From/OrganId), e.g. "the
        authenticated agency or one of its child units"; both are checked after the
        signature, so they read only what was signed (`auth.sender_mismatch`).

        Every refusal, wherever it is decided (before the store or inside the accept
        transaction: `route.not_recipient`, `route.recall_target_unknown`,
        `route.update_target_unknown`), is journaled under its error id in a transaction
        of its own, after the failed one rolled back; and a refused package leaves no
        bytes behind, because `_accept` stores them only once everything is decided."""
        at = self.clock.now()
        try:
            if peer_admits is not None and self.peer_trust is not None:
                checked = self.peer_trust(raw, at, peer_admits)
            else:
                checked = self.trust(raw, at)
            package = checked.package
            if sender_allowed is not None and not sender_allowed(package.sender_id):
                raise errors.AUTH_SENDER_MISMATCH.error(repr(package.sender_id))
            if kind is not None and package.kind is not kind:
                raise errors.MESSAGE_TYPE_MISMATCH.error(
                    f"declared {kind.value}, the package is {package.kind.value}")
            plan = route(package, self.directory, local_only=local_only,
                         resolve_unknown=self.resolve_unknown)
            for attempt in range(1, ACCEPT_TRIES + 1):
                try:
                    with self.store.transaction() as tx:
                        return self._accept(tx, raw, checked, plan.recipients, at)
                except AxisError as exc:
                    # The same package accepted at this moment by another request (two
                    # HTTP processes, a client retrying on a new connection): its copy's
                    # unique key lost the race. Again, the step finds that copy and
                    # answers "duplicate" instead of a server error.
                    if exc.code is not errors.STORE_CONFLICT or attempt == ACCEPT_TRIES:
                        raise
            raise AssertionError("unreachable")  # the loop returns or raises
        except SenderFault as exc:
            self.refused(exc, raw, at, judged=True)
            raise

    def refused(self, exc: AxisError, raw: bytes, at: datetime | None = None, *,
                judged: bool = False) -> None:
        """Journal a refused submission with its error id. Also called by the edges for
        what they refuse before `submit` (a body too large, an ambiguous request), so
        every refused package leaves its trace (issue 8, item 10). `judged`: the
        pipeline refused these bytes (from `submit`); they are kept as evidence, apart
        from the package store, for `axis audit replay` (issue 11) while the evidence
        store has room (`kept` says whether). What an edge refused while decoding is
        transport, not a package: not kept."""
        at = at or self.clock.now()
        exc.error_id = exc.error_id or self.new_id()
        sha = hashlib.sha256(raw).hexdigest()
        kept = False
        if judged and raw and self.evidence is not None:
            kept = self.evidence.keep(raw, sha256=sha, at=at, error_id=exc.error_id,
                                      code=exc.code.id)
        with self.store.transaction() as tx:
            tx.append_journal(at, "package.refused", exc.error_id, {
                "code": exc.code.id, "detail": exc.detail, "bytes": len(raw),
                # The digest ties the entry to the sender's copy (and to the kept bytes).
                "sha256": sha, "kept": kept,
            })

    def collect_orphans(self, now: datetime, grace: timedelta = orphans.GRACE) -> int:
        """Delete stored package bytes that no package row refers to and nothing touched
        for `grace` (a crash or a database failure between storing and committing);
        the number deleted. Scheduled with the node's periodic jobs."""
        if not isinstance(self.blobs, orphans.SweepableBlobs):
            return 0
        return orphans.collect_orphan_blobs(self.store, self.blobs, now - grace)

    def _decide(
        self, tx: RouteTx, package: Package, recipients: tuple[Agency, ...], sha: str
    ) -> dict[str, Delivery | None]:
        """Every refusal the store's state decides, before a byte is stored or a row
        written: the checks only read (recall.py), so a refusal leaves nothing behind.
        Returns each recipient's existing copy (a duplicate) or None, read once."""
        recall.check_owner(tx, package)  # update/replace: the sender's own document
        existing: dict[str, Delivery | None] = {}
        for agency in recipients:
            # The key with the digest; else a copy accepted before issue 10 (no digest).
            found = existing[agency.agency_id] = (
                tx.find_by_dedupe(dedupe_key(package, agency.agency_id, sha))
                or tx.find_by_dedupe(dedupe_key(package, agency.agency_id)))
            if found is not None:
                continue  # the same copy again: answered as a duplicate
            if recall.is_recall(package):
                recall.check_recall(tx, package, agency.agency_id)
            elif isinstance(package, StatusPackage):
                recall.check_status_origin(tx, package)
        return existing

    def _accept(
        self, tx: RouteTx, raw: bytes, checked: Checked,
        recipients: tuple[Agency, ...], at: datetime,
    ) -> Receipt:
        package = checked.package
        document_id = document_id_of(package)
        if recall.is_recall(package):
            # Lock order: delivery rows before the journal head, as take() and the
            # consumer do; the other order can deadlock two transactions on PostgreSQL.
            recall.lock_copies(tx, package)
        digest = hashlib.sha256(raw).hexdigest()  # once: the key and the store's name
        existing = self._decide(tx, package, recipients, digest)
        # Durable before the commit that refers to it, and only once accepted: a crash or
        # a database failure from here on leaves bytes no row refers to, which
        # `collect_orphans` deletes after its grace period.
        sha = self.blobs.put(raw, digest)
        tx.save_package(StoredPackage(
            sha256=sha, size=len(raw), kind=package.kind, sender_id=package.sender_id,
            document_id=document_id, received_at=at, signature=checked.signature,
            signer_fingerprint=checked.signer_fingerprint,
        ))
        entry = tx.append_journal(at, "package.accepted", sha, {
            "kind": package.kind.value, "sender": package.sender_id,
            "document_id": document_id, "signature": checked.signature,
            "signer": checked.signer_fingerprint,
            "warnings": [w.code.id for w in checked.warnings],
        })
        receipts = []
        for agency in recipients:
            receipts.append(self._route_one(tx, package, sha, agency.agency_id, at,
                                            existing[agency.agency_id]))
        return Receipt(
            kind=package.kind, sender_id=package.sender_id, document_id=document_id,
            package_sha256=sha, accepted_at=at, deliveries=tuple(receipts),
            warnings=tuple(w.code.id for w in checked.warnings), journal_seq=entry.seq,
        )

    def _route_one(
        self, tx: RouteTx, package: Package, sha: str, recipient_id: str, at: datetime,
        existing: Delivery | None,
    ) -> DeliveryReceipt:
        key = dedupe_key(package, recipient_id, sha)
        document_id = document_id_of(package)
        if existing is not None:
            tx.add_trail(TrailEntry(document_id, recipient_id, TrailEvent.DUPLICATE, at,
                                    existing.delivery_id))
            return DeliveryReceipt(recipient_id, existing.delivery_id, duplicate=True)
        if recall.is_recall(package):
            # Art. 9.3: copies not yet taken are withdrawn here and answered 15 on the
            # recipient's behalf; a copy already taken gets the recall delivered.
            withdrawn = recall.withdraw(self.emit_status, tx, package, recipient_id, at)
            if withdrawn is not None:
                return withdrawn
        delivery = self.enqueue(tx, package, sha, recipient_id, at, key, origin="sender")
        return DeliveryReceipt(recipient_id, delivery.delivery_id)

    def enqueue(
        self, tx: RouteTx, package: Package, sha: str, recipient_id: str, at: datetime,
        key: str, *, origin: str,
    ) -> Delivery:
        """A new delivery with its outbox entry, trail and journal, in `tx`."""
        document_id = document_id_of(package)
        status = package.header.status_code.value if isinstance(package, StatusPackage) else None
        delivery = Delivery(
            delivery_id=self.new_id(), package_sha256=sha, kind=package.kind,
            sender_id=package.sender_id, recipient_id=recipient_id, document_id=document_id,
            business_type=(int(package.business_type)
                           if isinstance(package, DocumentPackage) else None),
            status_code=status, priority=priority_of(package), dedupe_key=key,
            state=DeliveryState.QUEUED, accepted_at=at, origin=origin,
        )
        trail: list[TrailEntry] = []
        if isinstance(package, StatusPackage):
            # A status belongs to the history of the recipient it is about: the one that
            # reports it, or for a recall request (13) the one whose copy is taken back.
            recalled = package.header.status_code is StatusCode.RECALL_REQUEST
            trail.append(TrailEntry(
                document_id, recipient_id if recalled else package.sender_id,
                TrailEvent.RECALL if recalled else TrailEvent.STATUS, at,
                delivery.delivery_id, status_code=status, detail=origin))
        else:
            event = TrailEvent.RECALL if recall.is_recall(package) else TrailEvent.RECEIVED
            target = recall.target_of(package)
            detail = "" if package.business_type is BusinessType.NEW else (
                f"{package.business_type.name.lower()} of {target}")
            trail.append(TrailEntry(document_id, recipient_id, event, at,
                                    delivery.delivery_id, detail=detail))
            if package.business_type in (BusinessType.UPDATE, BusinessType.REPLACE) and (
                target != document_id
            ):
                # The link back: the acted-on document's trail names what updates it.
                trail.append(TrailEntry(target, recipient_id, TrailEvent.SUPERSEDED, at,
                                        delivery.delivery_id, detail=(
                                            f"{package.business_type.name.lower()} by "
                                            f"{document_id}")))
        return deliveries.queued(tx, delivery, outbox_body(delivery), trail, {
            "package": sha, "recipient": recipient_id, "document_id": document_id,
            "kind": package.kind.value, "status": status, "origin": origin,
        }, at)

    def emit_status(
        self, tx: RouteTx, *, on_behalf_of: str, original_sender: str, document_id: str,
        code: StatusCode, at: datetime,
    ) -> Delivery | None:
        """A node-signed status on a recipient's behalf, queued for the original sender."""
        agency = self.directory.find(on_behalf_of)
        organ = Organ(on_behalf_of, name=agency.name if agency else "")
        package, raw = node_status(on_behalf_of=organ, original_sender=original_sender,
                                   document_id=document_id, code=code, at=at,
                                   signer=self.signer)
        key = dedupe_key(package, original_sender)
        if any(d.recipient_id == original_sender and d.status_code == code.value
               for d in tx.deliveries_of_document(on_behalf_of, document_id, Kind.STATUS)):
            return None  # the recipient's own status (or ours) is already on its way
        sha = self.blobs.put(raw)
        tx.save_package(StoredPackage(sha, len(raw), Kind.STATUS, on_behalf_of, document_id,
                                      at, "node"))
        return self.enqueue(tx, package, sha, original_sender, at, key, origin="node")

    # --- the recipient's side ----------------------------------------------------------
    def inbox(self, agency_id: str, **filters: object) -> list[InboxItem]:
        with self.store.transaction() as tx:
            return tx.list_inbox(agency_id, **filters)  # type: ignore[arg-type]

    def take(self, agency_id: str, delivery_id: str) -> tuple[Delivery, bytes]:
        """The recipient takes its copy (`take_copy`), read into one value."""
        d, content = self.take_copy(agency_id, delivery_id)
        return d, content.read()

    def take_copy(self, agency_id: str, delivery_id: str) -> tuple[Delivery, PackageContent]:
        """The recipient takes its copy: delivered, with the Art. 11.2 receipt time. The
        bytes are checked, not read: the edge streams them (a 45 MB copy, issue 9)."""
        with self.store.transaction() as tx:
            d = tx.get_delivery(delivery_id, for_update=True)
            if d is None or d.recipient_id != agency_id:
                raise errors.DELIVERY_UNKNOWN.error(delivery_id)
            if d.state is DeliveryState.WITHDRAWN:
                raise errors.DELIVERY_WITHDRAWN.error(delivery_id)
            if d.state is not DeliveryState.DELIVERED:
                at = self.clock.now()
                d = deliveries.delivered(tx, d, at,
                                         self.calendar.effective_receipt_time(at))
                if d.kind is Kind.EDOC:
                    # The node's 01 (Art. 11.2) is owed from here, committed with the
                    # take; a worker signs and queues it (emit_due_arrivals), so the
                    # recipient's request neither pays for the signature nor fails when
                    # its bytes cannot be written (a full disk).
                    tx.add_arrival_due(d.delivery_id, at)
        return d, self.blobs.content(d.package_sha256)

    def emit_due_arrivals(self, limit: int = 200) -> int:
        """Sign and queue the 01 owed for copies taken, oldest first, as of each take's
        time; one transaction for the batch (idempotent: emit_status skips a 01 already
        queued). A failure (a full disk) rolls the batch back: the rows stay owed for
        the worker's next pass (axis/route/worker.py). Returns the rows settled."""
        with self.store.transaction() as tx:
            due = tx.claim_arrivals_due(limit)
            for delivery_id, taken_at in due:
                d = tx.get_delivery(delivery_id)
                if d is not None:
                    self.emit_arrival(tx, d, taken_at)
                tx.clear_arrival_due(delivery_id)
            return len(due)

    def republish(self, tx: RouteTx, d: Delivery, at: datetime) -> None:
        """Hand a stranded delivery to the outbox again (reconciliation, idempotent: the
        consumer deduplicates by delivery id)."""
        tx.add_outbox(d.delivery_id, d.recipient_id, d.priority, outbox_body(d), at)
        tx.append_journal(at, "delivery.republished", d.delivery_id,
                          {"recipient": d.recipient_id, "accepted_at": iso(d.accepted_at)})

    def emit_arrival(self, tx: RouteTx, d: Delivery, at: datetime) -> None:
        """Reconciliation's late 01: raises if it still cannot be written."""
        self.emit_status(tx, on_behalf_of=d.recipient_id, original_sender=d.sender_id,
                         document_id=d.document_id, code=StatusCode.ARRIVED, at=at)

    def update_transport(self, agency_id: str, delivery_id: str, state: TransportState) -> None:
        with self.store.transaction() as tx:
            d = tx.get_delivery(delivery_id, for_update=True)
            if d is None or d.recipient_id != agency_id:
                raise errors.DELIVERY_UNKNOWN.error(delivery_id)
            tx.update_delivery(replace(d, transport_state=state))
            tx.append_journal(self.clock.now(), "delivery.transport", delivery_id,
                              {"recipient": agency_id, "state": state.value})

    def trail(self, document_id: str) -> list[TrailEntry]:
        with self.store.transaction() as tx:
            return tx.trail(document_id)
