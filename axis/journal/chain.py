"""The append-only evidence journal: every step leaves an entry; a sealer later chains the
committed entries in sequence order, each link holding the hash of the one before, so an
edit anywhere in the sealed part breaks the chain from there on.

Fail closed (design.md, after X-Road's message log): the entry is written in the same
transaction as the step it records, with its own entry hash (time, kind, subject,
payload); no acknowledgement leaves without it. Appends share no row: the database hands
out the sequence number, and chaining happens afterwards, in batches, in the sealer's own
short transaction (adapters/store/route_journal.py explains which gaps it may seal).

Two hashes per entry:
- `entry_hash` = H(time, kind, subject, payload), written by the appender: it covers the
  unsealed tail, whose order the database's sequence gives.
- `hash` (the link), written by the sealer, in one of two forms:
  - form 2, H2 = SHA-256("axis.journal.link/2", seq, entry_hash, prev_hash), for every
    entry that has an entry hash (all sealed since issue 11). The link commits to the
    content through the entry hash, so a proof that a document's entries reach a signed
    checkpoint carries the entries in between as (seq, entry_hash) only: an evidence
    bundle handed to outsiders holds no other agency's metadata (axis/journal/bundle.py).
    The domain prefix is not a number, so an H2 preimage never equals a form 1 one.
  - form 1, H(seq, time, kind, subject, payload, prev_hash): the first form, over the
    content itself. Entries chained before the sealer existed (no entry hash) and those
    sealed before form 2 keep it and verify unchanged; a proof needs their content.
  Verification accepts either form for an entry; both commit to its content.
A sequence number that no committed entry will ever hold (a rolled-back step) is sealed as
an explicit `journal.gap` entry, so a missing number in the sealed part is always a
removed entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime

from axis.clock import as_vietnam, iso

GENESIS = "0" * 64
GAP_KIND = "journal.gap"  # a sealed sequence number that no committed step holds


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    at: datetime
    kind: str  # e.g. package.accepted, delivery.available, delivery.delivered, status.relayed
    subject: str  # what it is about: a delivery id, a document id, an agency id
    payload: dict[str, object]
    entry_hash: str | None  # None only for entries chained before the sealer existed
    prev_hash: str | None = None  # None until sealed
    hash: str | None = None  # the link; None until sealed

    @property
    def sealed(self) -> bool:
        return self.hash is not None


def canonical(payload: dict[str, object]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def entry_hash(at: datetime, kind: str, subject: str, payload: dict[str, object]) -> str:
    """The hash an appender writes: what the entry says, not where it stands (its time to
    the microsecond, as stored)."""
    return entry_hash_text(at, kind, subject, canonical(payload))


def entry_hash_text(at: datetime, kind: str, subject: str, payload_text: str) -> str:
    """`entry_hash` over the payload's canonical text as stored (the sealer's fast path:
    no JSON round trip)."""
    material = "\n".join((as_vietnam(at).isoformat(timespec="microseconds"), kind, subject,
                           payload_text))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def link_hash(
    seq: int, at: datetime, kind: str, subject: str, payload: dict[str, object], prev_hash: str
) -> str:
    """The form 1 link (the journal's first form: over the content itself)."""
    return link_hash_text(seq, at, kind, subject, canonical(payload), prev_hash)


def link_hash_text(
    seq: int, at: datetime, kind: str, subject: str, payload_text: str, prev_hash: str
) -> str:
    material = "\n".join((str(seq), iso(at), kind, subject, payload_text, prev_hash))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


LINK2_PREFIX = "axis.journal.link/2"  # the domain of form 2 links (never a number)


def link_hash2(seq: int, entry_hash: str, prev_hash: str) -> str:
    """The form 2 link: over the entry hash, which covers the content."""
    material = "\n".join((LINK2_PREFIX, str(seq), entry_hash, prev_hash))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def link_of(e: JournalEntry, prev_hash: str) -> str:
    """The link the sealer writes now: form 2 when the entry has an entry hash."""
    if e.entry_hash is not None:
        return link_hash2(e.seq, e.entry_hash, prev_hash)
    return link_hash(e.seq, e.at, e.kind, e.subject, e.payload, prev_hash)


def link_form(e: JournalEntry, prev_hash: str) -> int | None:
    """Which form `e.hash` is over `prev_hash` (2 or 1), None when neither. Form 2 says
    nothing about the content unless the entry hash matches it (`content_intact`)."""
    if e.hash is None:
        return None
    if e.entry_hash is not None and e.hash == link_hash2(e.seq, e.entry_hash, prev_hash):
        return 2
    if e.hash == link_hash(e.seq, e.at, e.kind, e.subject, e.payload, prev_hash):
        return 1
    return None


def new_entry(
    seq: int, at: datetime, kind: str, subject: str, payload: dict[str, object]
) -> JournalEntry:
    """An unsealed entry, as the appender writes it."""
    return JournalEntry(seq, at, kind, subject, payload, entry_hash(at, kind, subject, payload))


def content_intact(e: JournalEntry) -> bool:
    return e.entry_hash is None or e.entry_hash == entry_hash(e.at, e.kind, e.subject,
                                                              e.payload)


def seal(e: JournalEntry, prev_hash: str) -> JournalEntry:
    return replace(e, prev_hash=prev_hash, hash=link_of(e, prev_hash))


def link_intact(e: JournalEntry, prev_hash: str) -> bool:
    """The link holds in either form (the caller checks the content against the entry
    hash first: `content_intact`)."""
    return e.prev_hash == prev_hash and link_form(e, prev_hash) is not None


def gap_entry(seq: int, at: datetime, reason: str) -> JournalEntry:
    """The marker sealed in place of a sequence number that was handed out to a step
    that rolled back (never a removed entry: see the sealer's rule)."""
    return new_entry(seq, at, GAP_KIND, "", {"reason": reason})
