"""What `axis audit replay` reads of the node's records (axis/journal/replay.py,
`ReplaySource`): the journal's package decisions, the copies each accepted package made
(recipients, and the Art. 11.2 receipt time of those taken), the registry's history, the
trust settings records, and the packages' bytes (the package store; the refused evidence
store, adapters/store/refused_repo.py).

Only reads, in short transactions: it runs on a live node's database (opened read-only
by the CLI). `copies_of` is also what the sandbox reads of its own store, so a recorded
and a replayed decision are read the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, select

from adapters.store import route_journal
from adapters.store.blobs import FileBlobs
from adapters.store.refused_repo import SqlRefusedEvidence
from adapters.store.registry_repo import instant_from_db, instant_to_db
from adapters.store.registry_tables import agency_history
from adapters.store.route_repo import READ_ONLY
from adapters.store.route_tables import deliveries, journal, packages
from axis import errors
from axis.journal import trust_settings
from axis.journal.chain import JournalEntry
from axis.journal.replay import Decision, Recorded, Taken, TrustRecord
from axis.registry.model import AgencyChange

ACCEPTED, REFUSED = "package.accepted", "package.refused"
# A peer's package is journaled `peer.received` just after its acceptance.
PEER_RECEIVED_WITHIN = timedelta(hours=1)
CHUNK = 500  # identifiers per IN (…) list

D, J = deliveries.c, journal.c


def copies_of(conn: Connection, sha256: str) -> tuple[tuple[str, ...], tuple[Taken, ...]]:
    """The recipients of the copies a package made (sorted), and those taken."""
    rows = conn.execute(
        select(D.recipient_id, D.delivered_at, D.effective_at)
        .where(D.package_sha256 == sha256, D.origin == "sender")).all()
    recipients = tuple(sorted({r.recipient_id for r in rows}))
    taken = tuple(sorted((Taken(r.recipient_id, r.delivered_at, r.effective_at)
                          for r in rows if r.delivered_at is not None),
                         key=lambda t: (t.recipient, t.delivered_at)))
    return recipients, taken


class SqlReplaySource:
    def __init__(self, engine: Engine, blobs: FileBlobs, evidence: SqlRefusedEvidence) -> None:
        self._engine, self._blobs, self._evidence = engine, blobs, evidence

    def _read(self) -> Connection:
        return self._engine.connect().execution_options(**{READ_ONLY: True})

    def _entries(self, conn: Connection, *where: object) -> list[JournalEntry]:
        q = select(J.seq, J.at, J.kind, J.subject, J.payload, J.entry_hash, J.prev_hash,
                   J.hash).where(*where).order_by(J.seq)  # type: ignore[arg-type]
        return [route_journal.entry_of(r) for r in conn.execute(q)]

    def recorded(self, start: datetime, end: datetime) -> list[Recorded]:
        with self._read() as conn:
            entries = self._entries(conn, J.kind.in_((ACCEPTED, REFUSED)), J.at >= start,
                                    J.at <= end)
            peers = self._peers(conn, start, end + PEER_RECEIVED_WITHIN)
            return [self._recorded(conn, e, peers) for e in entries]

    def context(self, before: datetime, document_ids: Sequence[str]) -> list[Recorded]:
        shas: set[str] = set()
        with self._read() as conn:
            for i in range(0, len(document_ids), CHUNK):
                shas.update(conn.execute(select(packages.c.sha256).where(
                    packages.c.document_id.in_(document_ids[i:i + CHUNK]),
                    packages.c.received_at < before)).scalars())
            ordered = sorted(shas)
            entries: list[JournalEntry] = []
            for i in range(0, len(ordered), CHUNK):
                entries += self._entries(conn, J.kind == ACCEPTED,
                                         J.subject.in_(ordered[i:i + CHUNK]), J.at < before)
            entries.sort(key=lambda e: e.seq)
            first = entries[0].at if entries else before
            peers = self._peers(conn, first, before + PEER_RECEIVED_WITHIN)
            return [self._recorded(conn, e, peers) for e in entries]

    def registry_changes(self, until: datetime) -> list[AgencyChange]:
        h = agency_history.c
        with self._read() as conn:
            rows = conn.execute(select(agency_history).where(h.at <= instant_to_db(until))
                                .order_by(h.id)).mappings().all()
        return [AgencyChange(r["agency_id"], instant_from_db(r["at"]), r["actor"],
                             r["reason"], r["action"], r["before"], r["after"])
                for r in rows]

    def trust_records(self, until: datetime) -> list[TrustRecord]:
        with self._read() as conn:
            entries = self._entries(conn, J.kind == trust_settings.KIND, J.at <= until)
        out = []
        for e in entries:
            settings = e.payload.get("settings")
            if isinstance(settings, dict):
                out.append(TrustRecord(e.seq, e.at, settings))
        return out

    def package(self, recorded: Recorded) -> bytes | None:
        if not recorded.decision.accepted:
            return self._evidence.get(recorded.sha256)
        try:
            return self._blobs.get(recorded.sha256)
        except errors.AxisError:  # missing or corrupt: reported as skipped
            return None

    # --- reading one entry ----------------------------------------------------------------
    def _peers(self, conn: Connection, start: datetime, end: datetime) -> dict[str, str]:
        """sha256 → the peer that brought it (issue 10), for the accepted ones."""
        found: dict[str, str] = {}
        for e in self._entries(conn, and_(J.kind == "peer.received", J.at >= start,
                                          J.at <= end)):
            sha, peer = e.payload.get("sha256"), e.payload.get("peer")
            if isinstance(sha, str) and isinstance(peer, str):
                found.setdefault(sha, peer)
        return found

    def _recorded(self, conn: Connection, e: JournalEntry, peers: dict[str, str]) -> Recorded:
        p = e.payload
        if e.kind == ACCEPTED:
            recipients, taken = copies_of(conn, e.subject)
            return Recorded(e.seq, e.at, e.subject, Decision(True, "", recipients),
                            sender=str(p.get("sender", "")),
                            document_id=str(p.get("document_id", "")),
                            peer=peers.get(e.subject, ""), taken=taken)
        # Refusals journaled before issue 11 say nothing of `kept`: nothing was kept.
        return Recorded(e.seq, e.at, str(p.get("sha256", "")),
                        Decision(False, str(p.get("code", ""))), error_id=e.subject,
                        kept=p.get("kept") is True)
