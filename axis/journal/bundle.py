"""Evidence bundles (issue 11, item 3): one file that proves, with no database and no
network, what the node recorded about a document (or the documents of a period).

A bundle holds the original package bytes, every status about the document the node
relayed or emitted (as bytes), its trail, its journal entries, the hash-chain proof from
those entries to a checkpoint the node signed (axis/journal/proof.py), the checkpoint,
and the node's certificates; a manifest lists every member with its SHA-256 and is
signed with the node key. docs/evidence-bundle.md is the format's reference, precise
enough for an independent verifier (tools/verify_bundle.py is one, on the standard
library and `cryptography` alone). This module builds a bundle from typed values read by
the store (adapters/store/evidence.py); axis/journal/bundle_verify.py checks one.

What proves what:
- the checkpoint's signature: the node vouched for the chain up to its seq;
- the proof: each of the bundle's entries is in that chain, unaltered;
- a package's SHA-256 equal to the digest its journal entry names: those are the bytes;
- the manifest's signature: the node put these members (the trail, the set of entries
  and packages) together. The trail is not in the chain: only this signature covers it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from axis.clock import iso
from axis.journal import bundle_zip
from axis.journal.chain import JournalEntry
from axis.journal.checkpoint import SignedCheckpoint
from axis.journal.proof import build_rows, entry_json
from axis.route.model import TrailEntry
from axis.trust import detached
from axis.trust.sign import NodeSigner
from axis.trust.verdict import fingerprint

FORMAT = "axis.evidence.bundle/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
CERTIFICATES, CHECKPOINT = "certificates.pem", "checkpoint.json"
JOURNAL, PROOF, TRAIL = "journal.json", "proof.json", "trail.json"
PACKAGES = "packages/"  # packages/<sha256>.xml
FIXED = (MANIFEST, SIGNATURE, CERTIFICATES, CHECKPOINT, JOURNAL, PROOF, TRAIL)
# Journal kinds that name a package's digest: the package accepted from its sender (the
# digest is the subject), a copy queued (payload "package": the node's own statuses).
ACCEPTED, QUEUED = "package.accepted", "delivery.queued"


@dataclass(frozen=True, slots=True)
class BundlePackage:
    sha256: str
    raw: bytes
    kind: str  # edoc | status
    document_id: str
    sender: str
    origin: str  # sender (accepted from an agency or a peer) | node (signed by the node)
    received_at: datetime
    journal_seq: int  # the entry that names this digest


@dataclass(frozen=True, slots=True)
class BundleContent:
    """Everything a bundle holds, as the store read it."""

    scope: dict[str, str | None]  # {"document_id": …} or {"from", "to", "agency"}
    documents: tuple[str, ...]
    packages: tuple[BundlePackage, ...]
    entries: tuple[JournalEntry, ...]  # the documents' entries, sealed, in seq order
    trail: tuple[TrailEntry, ...]
    checkpoint: SignedCheckpoint  # covers the last entry, signed by the exporting node


def package_member(sha256: str) -> str:
    return f"{PACKAGES}{sha256}.xml"


def dumps(doc: object) -> bytes:
    """JSON members: sorted keys, UTF-8. Nothing re-serialises them (digests and hashes
    are over the bytes and strings as they are), so readability is free."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")


def _trail_json(t: TrailEntry) -> dict[str, Any]:
    return {"document_id": t.document_id, "agency_id": t.agency_id, "event": t.event.value,
            "at": iso(t.at), "delivery_id": t.delivery_id, "status_code": t.status_code,
            "effective_at": iso(t.effective_at) if t.effective_at else None,
            "detail": t.detail}


def build(
    content: BundleContent, chain: Iterable[JournalEntry], at: datetime, signer: NodeSigner
) -> bytes:
    """The bundle's bytes. `chain` yields the journal from the first entry's seq on (the
    proof's rows are made from it: ProofError when it does not reach the checkpoint)."""
    if not content.entries:
        raise ValueError("a bundle needs at least one journal entry")
    cp = content.checkpoint.checkpoint
    first = content.entries[0]
    rows = build_rows(chain, start=first.seq, prev=first.prev_hash or "", end=cp.seq,
                      head=cp.head, in_bundle={e.seq for e in content.entries})
    members: list[tuple[str, bytes]] = [
        (CERTIFICATES, certificates_pem(signer).encode("ascii")),
        (CHECKPOINT, dumps(content.checkpoint.as_json())),
        (JOURNAL, dumps({"entries": [entry_json(e) for e in content.entries]})),
        (PROOF, dumps({"start": first.seq, "prev": first.prev_hash, "end": cp.seq,
                       "links": rows})),
        (TRAIL, dumps({"trail": [_trail_json(t) for t in content.trail]})),
    ]
    members += [(package_member(p.sha256), p.raw) for p in content.packages]
    manifest = dumps({
        "format": FORMAT,
        "created_at": iso(at),
        "node": fingerprint(signer.cert),
        "scope": content.scope,
        "documents": list(content.documents),
        "checkpoint": {"seq": cp.seq, "head": cp.head},
        "packages": [{"sha256": p.sha256, "size": len(p.raw), "kind": p.kind,
                      "document_id": p.document_id, "sender": p.sender,
                      "origin": p.origin, "received_at": iso(p.received_at),
                      "journal_seq": p.journal_seq} for p in content.packages],
        "members": [{"name": name, "sha256": _sha(data), "size": len(data)}
                    for name, data in members],
    })
    signature, _ = detached.sign(signer, manifest)
    return bundle_zip.write([(MANIFEST, manifest), (SIGNATURE, signature), *members])


def certificates_pem(signer: NodeSigner) -> str:
    """The node's certificate and its chain, PEM, the signer's first."""
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii")
                   for c in (signer.cert, *signer.chain))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
