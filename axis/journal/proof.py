"""The hash-chain proof of an evidence bundle: from the first of its journal entries to a
signed checkpoint, one row per sequence number (docs/evidence-bundle.md, "proof.json").

A row carries what recomputing its link needs and nothing more (axis/journal/chain.py):
- form 2 (H2 over the entry hash): the entry hash. Entries of other documents appear as
  (seq, entry_hash, link) only: nothing of what they say, whom they are about.
- form 1 (the first form, over the content): the entry's content, unless the bundle
  carries the entry itself. Only entries sealed before form 2 existed are in this form.
Each row also carries its link (`hash`), so that a verifier names the first row that
does not recompute instead of only "the end differs".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from axis.journal.chain import JournalEntry, canonical, content_intact, link_form


class ProofError(ValueError):
    """The journal does not chain from the bundle's first entry to the checkpoint."""


def entry_text(e: JournalEntry) -> dict[str, Any]:
    """What an entry says, as text (the exact strings its hashes are over)."""
    return {"at": e.at.isoformat(timespec="microseconds"), "kind": e.kind,
            "subject": e.subject, "payload": canonical(e.payload)}


def entry_json(e: JournalEntry) -> dict[str, Any]:
    """A bundle's journal entry: its content, its entry hash and its place in the chain."""
    return {"seq": e.seq, **entry_text(e), "entry_hash": e.entry_hash,
            "prev_hash": e.prev_hash, "hash": e.hash}


def build_rows(
    chain: Iterable[JournalEntry], *, start: int, prev: str, end: int, head: str,
    in_bundle: Collection[int],
) -> list[dict[str, Any]]:
    """The rows from `start` (whose prev_hash is `prev`) to `end` (whose link must be the
    checkpoint's `head`); `chain` yields the journal's entries from `start` in seq order.
    ProofError when the stored journal does not chain so (the export is refused: a
    bundle is never made over a broken journal)."""
    rows: list[dict[str, Any]] = []
    expected = start
    for e in chain:
        if e.seq > end:
            break
        if e.seq != expected:
            raise ProofError(f"seq {expected} is missing from the journal")
        if e.hash is None or e.prev_hash != prev:
            raise ProofError(f"seq {e.seq} is not sealed onto seq {e.seq - 1}")
        form = link_form(e, prev) if content_intact(e) else None
        if form is None:
            raise ProofError(f"seq {e.seq}: its link does not match its content")
        row: dict[str, Any] = {"seq": e.seq, "form": form, "hash": e.hash}
        if form == 2:
            row["entry_hash"] = e.entry_hash
        elif e.seq not in in_bundle:
            row["entry"] = entry_text(e)
        rows.append(row)
        prev, expected = e.hash, expected + 1
    if expected != end + 1 or prev != head:
        raise ProofError(f"the journal does not reach the checkpoint (seq {end}) from seq "
                         f"{start}")
    return rows
