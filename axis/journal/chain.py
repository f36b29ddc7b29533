"""The append-only evidence journal: every step leaves an entry, each entry holds the hash
of the one before, so an edit anywhere breaks the chain from there on.

Fail closed (design.md, after X-Road's message log): the journal entry is written in the
same transaction as the step it records; no acknowledgement leaves without it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from axis.clock import iso

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    at: datetime
    kind: str  # e.g. package.accepted, delivery.available, delivery.delivered, status.relayed
    subject: str  # what it is about: a delivery id, a document id, an agency id
    payload: dict[str, object]
    prev_hash: str
    hash: str


def canonical(payload: dict[str, object]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def entry_hash(
    seq: int, at: datetime, kind: str, subject: str, payload: dict[str, object], prev_hash: str
) -> str:
    material = "\n".join((str(seq), iso(at), kind, subject, canonical(payload), prev_hash))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def make_entry(
    prev: JournalEntry | None, at: datetime, kind: str, subject: str, payload: dict[str, object]
) -> JournalEntry:
    seq = prev.seq + 1 if prev else 1
    prev_hash = prev.hash if prev else GENESIS
    return JournalEntry(seq, at, kind, subject, payload, prev_hash,
                        entry_hash(seq, at, kind, subject, payload, prev_hash))


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    first_broken: int | None  # seq of the first entry that does not verify
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify_chain(entries: Iterable[JournalEntry]) -> ChainReport:
    """Walk the journal in order; report the first broken link."""
    prev_hash, expected_seq, n = GENESIS, 1, 0
    for e in entries:
        n += 1
        if e.seq != expected_seq:
            return ChainReport(n, e.seq, f"sequence gap: expected {expected_seq}, found {e.seq}")
        if e.prev_hash != prev_hash:
            return ChainReport(n, e.seq, "prev_hash does not match the previous entry's hash")
        if entry_hash(e.seq, e.at, e.kind, e.subject, e.payload, e.prev_hash) != e.hash:
            return ChainReport(n, e.seq, "entry content does not match its hash")
        prev_hash, expected_seq = e.hash, expected_seq + 1
    return ChainReport(n, None)
