"""The auditor's operations on the journal (issue 11, item 5, "Journal"): verify it now,
whole or a range (of seq numbers, or of time turned into seq numbers), say what the last
verification found, list the signed checkpoints with the journal's verdict against the
latest, and read the auditors' own trail (`access.*` entries).

A verification's result is itself a journal entry (`journal.verified`, after the
`access.verify` the edge writes before it runs): "the last verification" is read back
from the journal, so every process of the node and every restart shows the same one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from axis import errors
from axis.clock import Clock
from axis.journal.access import KIND_PREFIX
from axis.journal.audit import ChainReport
from axis.journal.chain import JournalEntry
from axis.journal.checkpoint import Checkpoint

VERIFIED_KIND = "journal.verified"
PAGE = 50


@dataclass(frozen=True, slots=True)
class Verification:
    at: datetime
    actor: str
    ok: bool
    entries: int
    first_broken: int | None
    reason: str
    first: int | None  # the range verified (None: from the start / to the end)
    last: int | None
    sealed_seq: int
    checkpoint: Mapping[str, object] | None  # the verdict against the latest checkpoint

    @classmethod
    def of(cls, e: JournalEntry) -> Verification:
        p = e.payload

        def num(key: str) -> int | None:
            value = p.get(key)
            return value if isinstance(value, int) else None

        cp = p.get("checkpoint")
        return cls(e.at, str(p.get("actor", "")), p.get("ok") is True,
                   num("entries") or 0, num("first_broken"), str(p.get("reason", "")),
                   num("first"), num("last"), num("sealed_seq") or 0,
                   cp if isinstance(cp, dict) else None)


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    checkpoint: Checkpoint
    file: str  # the exported file, "" when it is not in the export directory


@dataclass(frozen=True, slots=True)
class AccessRow:
    seq: int
    at: datetime
    action: str  # search, view, download, export, verify, resend, change, login, logout
    target: str
    actor: str
    role: str
    channel: str
    reason: str


class JournalReads(Protocol):
    """What the operations need of the journal store (adapters/store/journal_reads.py)."""

    def verify_journal(self, first: int | None = None, last: int | None = None
                       ) -> ChainReport: ...

    def seq_range(self, since: datetime | None, until: datetime | None
                  ) -> tuple[int, int] | None: ...

    def access_entries(self, actor: str, limit: int, offset: int) -> list[JournalEntry]: ...

    def last_journal_entry(self, kind: str) -> JournalEntry | None: ...

    def append(self, at: datetime, kind: str, subject: str,
               payload: dict[str, object]) -> JournalEntry: ...

    def checkpoints(self, limit: int, offset: int) -> list[CheckpointRow]: ...

    def checkpoint_verdict(self) -> dict[str, object] | None: ...


class JournalAudit:
    def __init__(self, reads: JournalReads, clock: Clock) -> None:
        self._reads, self._clock = reads, clock

    def last_verification(self) -> Verification | None:
        e = self._reads.last_journal_entry(VERIFIED_KIND)
        return Verification.of(e) if e is not None else None

    def verify(self, *, actor: str, first: int | None = None, last: int | None = None,
               since: datetime | None = None, until: datetime | None = None
               ) -> Verification:
        """Verify seq `first` … `last`, or the entries between `since` and `until`, or
        (nothing given) the whole journal; and journal the result."""
        if (first is not None and first < 1) or (last is not None and last < 1):
            raise errors.API_INVALID_REQUEST.error("seq numbers start at 1")
        if first is not None and last is not None and first > last:
            raise errors.API_INVALID_REQUEST.error("the range ends before it starts")
        if since is not None or until is not None:
            if since is not None and until is not None and since > until:
                raise errors.API_INVALID_REQUEST.error("the range ends before it starts")
            found = self._reads.seq_range(since, until)
            # No entry in the window: nothing to verify, an empty (successful) walk.
            first, last = found if found is not None else (1, 0)
        report = self._reads.verify_journal(first, last) if last != 0 else ChainReport(0, None)
        whole = first is None and last is None
        # The checkpoint verdict concerns the whole sealed chain: only a whole walk has it.
        verdict = self._reads.checkpoint_verdict() if whole else None
        ok = report.ok and (verdict is None or verdict.get("verdict") == "ok")
        payload: dict[str, object] = {
            "actor": actor, "ok": ok, "entries": report.entries,
            "first_broken": report.first_broken, "reason": report.reason,
            "first": first, "last": last, "sealed_seq": report.sealed_seq,
            "checkpoint": verdict}
        at = self._clock.now()
        subject = "journal" if whole else f"{first or 1}-{last if last is not None else ''}"
        return Verification.of(self._reads.append(at, VERIFIED_KIND, subject, payload))

    def access(self, *, actor: str = "", offset: int = 0, limit: int = PAGE
               ) -> list[AccessRow]:
        """The `access.*` entries, newest first, of one actor when named."""
        rows = self._reads.access_entries(actor.strip(), max(1, min(limit, 500)),
                                          max(0, offset))
        return [_access_row(e) for e in rows]

    def checkpoints(self, *, offset: int = 0, limit: int = PAGE) -> Sequence[CheckpointRow]:
        return self._reads.checkpoints(max(1, min(limit, 500)), max(0, offset))

    def checkpoint_verdict(self) -> dict[str, object] | None:
        """The journal as it is now against the latest exported checkpoint (None: none)."""
        return self._reads.checkpoint_verdict()


def _access_row(e: JournalEntry) -> AccessRow:
    p = e.payload
    return AccessRow(e.seq, e.at, e.kind.removeprefix(KIND_PREFIX), e.subject,
                     str(p.get("actor", "")), str(p.get("role", "")),
                     str(p.get("channel", "")), str(p.get("reason", "")))
