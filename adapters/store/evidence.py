"""Evidence bundles read from the node's store (issue 11, item 3): what `axis audit export`
and the console's "download the evidence" call. The format and the checks are in the
core (axis/journal/bundle.py, bundle_verify.py); this module only gathers:

- the documents: one by its id, or those with a package received in [from, to) (sent or
  received by one agency, if given, in either identifier form);
- their packages (the document, updates, recalls, every status about it, the node's own
  statuses included) with their bytes from the package store;
- their journal entries: those whose subject is one of these packages' digests or one of
  their copies' delivery ids, and the `peer.received` hops that brought them;
- the trail, and a signed checkpoint covering the last entry: the earliest the node holds
  signed with its present key, or a fresh one (sealed first, as `axis audit checkpoint`
  does) when none covers them yet.

Writes only through the sealer and the checkpoint taker; a journal that does not chain
to the checkpoint is refused (node.journal_broken), never exported.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.store import route_journal
from adapters.store.blobs import FileBlobs
from adapters.store.checkpoint_tables import journal_checkpoints
from adapters.store.checkpoints import SqlCheckpoints, export_dir
from adapters.store.registry_repo import SqlRegistryStore
from adapters.store.route_repo import READ_ONLY, SqlRouteStore, SqlRouteTx
from adapters.store.route_tables import deliveries, journal, packages
from axis import errors
from axis.journal import bundle
from axis.journal.bundle import BundleContent, BundlePackage
from axis.journal.chain import JournalEntry
from axis.journal.checkpoint import Checkpoint, SignedCheckpoint
from axis.journal.proof import ProofError
from axis.settings import Settings
from axis.trust.sign import NodeSigner
from axis.trust.verdict import fingerprint

_Row = route_journal.AnyRow
CHUNK = 500  # values per IN (…): well under every database's parameter limit
PEER_RECEIVED = "peer.received"


class EvidenceNode(Protocol):
    """What an export needs of the node (adapters/node.Node has it; the CLI builds one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> SqlRouteStore: ...
    @property
    def signer(self) -> NodeSigner: ...


def export_document(
    node: EvidenceNode, document_id: str, at: datetime, signer: NodeSigner | None = None
) -> bytes:
    """The evidence bundle of one document, as bytes (audit.nothing_to_export when the
    node holds no package of it)."""
    return _export(node, {"document_id": document_id}, [document_id], at,
                   signer or node.signer)


def export_period(
    node: EvidenceNode, start: datetime, end: datetime, at: datetime,
    agency: str | None = None, signer: NodeSigner | None = None,
) -> bytes:
    """The bundle of every document with a package received in [start, end), sent or
    received by `agency` when given (either identifier form: QCVN 102 or Decision 20)."""
    if agency:
        known = SqlRegistryStore(node.store.engine).find(agency)
        agency = known.agency_id if known is not None else agency
    with _reading(node.store) as conn:
        docs = _documents_in(conn, start, end, agency)
    scope: dict[str, str | None] = {"from": start.isoformat(), "to": end.isoformat(),
                                    "agency": agency}
    return _export(node, scope, docs, at, signer or node.signer)


@contextmanager
def _reading(store: SqlRouteStore) -> Iterator[Connection]:
    try:
        with store.engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                conn.begin():
            yield conn
    except SQLAlchemyError as exc:
        raise errors.STORE_UNAVAILABLE.error(f"evidence export: {type(exc).__name__}") \
            from exc


def _export(node: EvidenceNode, scope: dict[str, str | None], docs: Sequence[str],
            at: datetime, signer: NodeSigner) -> bytes:
    nothing = errors.EVIDENCE_NOTHING.error(json.dumps(scope, ensure_ascii=False))
    if not docs:
        raise nothing
    with _reading(node.store) as conn:
        rows = _packages_of(conn, docs)
        entries = _entries(conn, [r.sha256 for r in rows], _delivery_ids(conn, docs))
    if not rows or not entries:
        raise nothing
    cp = _covering(node, entries[-1].seq, at, signer)
    with _reading(node.store) as conn:  # again: sealing gave the entries their links
        rows = _packages_of(conn, docs)
        entries = [e for e in _entries(conn, [r.sha256 for r in rows],
                                       _delivery_ids(conn, docs))
                   if e.seq <= cp.checkpoint.seq]  # what came since is not vouched for
        tx = SqlRouteTx(conn)
        trail = [t for d in docs for t in tx.trail(d)]
    vouched = {r.sha256: seq for r in rows if (seq := _vouching(entries, r.sha256))}
    blobs = FileBlobs(node.settings.data_dir / "packages")
    content = BundleContent(
        scope=scope, documents=tuple(docs),
        packages=tuple(BundlePackage(
            sha256=r.sha256, raw=blobs.get(r.sha256), kind=r.kind,
            document_id=r.document_id, sender=r.sender_id,
            origin="node" if r.signature == "node" else "sender",
            received_at=r.received_at, journal_seq=vouched[r.sha256])
            for r in rows if r.sha256 in vouched),
        entries=tuple(entries), trail=tuple(trail), checkpoint=cp)
    try:
        return bundle.build(content, node.store.journal(after_seq=entries[0].seq - 1), at,
                            signer)
    except ProofError as exc:
        raise errors.JOURNAL_BROKEN.error(f"evidence export: {exc}") from exc


def _documents_in(conn: Connection, start: datetime, end: datetime,
                  agency: str | None) -> list[str]:
    p = packages.c
    q = select(p.document_id).where(p.received_at >= start, p.received_at < end)
    if agency:
        received = select(deliveries.c.document_id).where(
            deliveries.c.recipient_id == agency)
        q = q.where(or_(p.sender_id == agency, p.document_id.in_(received)))
    return sorted({str(d) for d in conn.execute(q.distinct()).scalars()})


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


def _packages_of(conn: Connection, docs: Sequence[str]) -> list[_Row]:
    p = packages.c
    out: list[_Row] = []
    for part in _chunks(docs):
        out += conn.execute(select(packages).where(p.document_id.in_(part))).all()
    return sorted(out, key=lambda r: (r.received_at, r.sha256))


def _delivery_ids(conn: Connection, docs: Sequence[str]) -> list[str]:
    d = deliveries.c
    out: list[str] = []
    for part in _chunks(docs):
        out += conn.execute(select(d.delivery_id).where(d.document_id.in_(part))).scalars()
    return out


def _entries(conn: Connection, shas: Sequence[str], ids: Sequence[str]) -> list[JournalEntry]:
    """The documents' entries in seq order: by subject, then the peer hops (found by the
    copies they made, read between the first and the last entry found)."""
    j = journal.c
    found: dict[int, JournalEntry] = {}
    for part in _chunks([*shas, *ids]):
        for row in conn.execute(select(journal).where(j.subject.in_(part))):
            e = route_journal.entry_of(row)
            found[e.seq] = e
    if found and ids:
        wanted = set(ids)
        hops = select(journal).where(and_(j.kind == PEER_RECEIVED, j.seq >= min(found),
                                          j.seq <= max(found)))
        for row in conn.execute(hops):
            e = route_journal.entry_of(row)
            made = e.payload.get("deliveries")
            if isinstance(made, list) and wanted.intersection(map(str, made)):
                found[e.seq] = e
    return [found[s] for s in sorted(found)]


def _vouching(entries: Iterable[JournalEntry], sha: str) -> int:
    """The seq of the entry naming the digest: its acceptance, else the copy queued; 0
    when none does (a package stored after the checkpoint the bundle stops at)."""
    queued = 0
    for e in entries:
        if e.kind == bundle.ACCEPTED and e.subject == sha:
            return e.seq
        if not queued and e.kind == bundle.QUEUED and e.payload.get("package") == sha:
            queued = e.seq
    return queued


def _covering(node: EvidenceNode, last: int, at: datetime, signer: NodeSigner
              ) -> SignedCheckpoint:
    """The earliest checkpoint signed with `signer` that covers seq `last`; a fresh one
    (sealed first) when there is none."""
    fp = fingerprint(signer.cert)
    found = _checkpoint_from(node.store, last, fp)
    if found is not None:
        return found
    done = node.store.seal_journal(at)
    if done.broken:
        raise errors.JOURNAL_BROKEN.error(done.broken)
    if done.head < last:  # a gap the sealer cannot decide yet (a step in flight)
        raise errors.JOURNAL_BROKEN.error(
            f"evidence export: seq {last} is not sealed yet (the seal head is at "
            f"{done.head}); try again in a moment")
    SqlCheckpoints(node.store.engine, export_dir(node.settings)).take(at, signer)
    found = _checkpoint_from(node.store, last, fp)
    if found is None:
        raise errors.JOURNAL_BROKEN.error("evidence export: no checkpoint covers the entries")
    return found


def _checkpoint_from(store: SqlRouteStore, seq: int, signer_fp: str) -> SignedCheckpoint | None:
    c = journal_checkpoints.c
    with _reading(store) as conn:
        row = conn.execute(
            select(journal_checkpoints).where(c.seq >= seq, c.signer == signer_fp)
            .order_by(c.seq).limit(1)).mappings().first()
    if row is None:
        return None
    return SignedCheckpoint(Checkpoint(int(row["seq"]), row["head"], row["at"], row["signer"]),
                            base64.b64decode(row["signature"]), row["certificates"])

