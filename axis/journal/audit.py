"""Verify the journal: the sealed chain link by link, then the unsealed tail entry by entry.

What each part can show (axis/journal/chain.py for the two hashes):
- Sealed part (seq 1 … the seal head): numbers consecutive (a rolled-back number is there
  as a sealed `journal.gap` marker, so a missing number is a removed entry), every link
  intact, the last one equal to the seal head's hash (entries cut from the end of the
  sealed part show as a chain shorter than its head).
- Unsealed tail: each entry's own hash; its numbers in order after the head. A missing
  number there is either pending (PostgreSQL: a step still in flight or rolled back; the
  sealer decides, see adapters/store/route_journal.py) or, where the database never
  leaves such gaps (SQLite: AUTOINCREMENT is transactional), a removed entry. Numbers the
  database handed out beyond the last entry are compared the same way.

A range (`start`, `end`: what the console's "verify seq a…b" asks) walks the same way
from the entry before it (its seq and link, read from the journal), and checks the end
of the journal only when the range reaches it: a range proves its own entries and their
links, not what lies outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from axis.journal.chain import GAP_KIND, GENESIS, JournalEntry, content_intact, link_intact

PENDING_LISTED = 100  # pending gaps listed in a report; the count is always exact


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int  # rows read, gap markers included
    first_broken: int | None  # seq of the first entry that does not verify
    reason: str = ""
    sealed_seq: int = 0  # the seal head: entries up to here are chained
    unsealed: int = 0  # entries after the seal head (checked by their own hash)
    gaps_rolled_back: tuple[int, ...] = ()  # sealed gap markers
    gaps_pending: tuple[int, ...] = ()  # missing numbers in the tail, not yet decided
    pending_count: int = 0
    beyond_end: int = 0  # numbers handed out beyond the last entry (in flight, rolled back
    # or, where gaps are final, removed)

    @property
    def ok(self) -> bool:
        return self.first_broken is None


@dataclass(frozen=True, slots=True)
class SealHead:
    seq: int = 0
    hash: str = GENESIS


class _Walk:
    def __init__(self, head: SealHead, gaps_final: bool, start: tuple[int, str]) -> None:
        self.head, self.gaps_final = head, gaps_final
        self.n = self.unsealed = 0
        self.last, self.prev = start
        self.rolled_back: list[int] = []
        self.pending: list[int] = []
        self.pending_count = 0

    def report(self, broken: int | None = None, reason: str = "", beyond: int = 0) -> ChainReport:
        return ChainReport(self.n, broken, reason, self.head.seq, self.unsealed,
                           tuple(self.rolled_back), tuple(self.pending[:PENDING_LISTED]),
                           self.pending_count, beyond)

    def missing(self, first: int, last: int) -> None:
        self.pending_count += last - first + 1
        room = PENDING_LISTED - len(self.pending)
        self.pending.extend(range(first, min(last, first + room - 1) + 1) if room > 0 else ())

    def sealed(self, e: JournalEntry) -> str:
        """Check one entry of the sealed part; the reason it breaks, or ""."""
        if e.seq != self.last + 1:
            return f"sequence gap: expected {self.last + 1}, found {e.seq}"
        if not e.sealed:
            return "an entry inside the sealed chain carries no link"
        if not content_intact(e):
            return "entry content does not match its hash"
        if e.prev_hash != self.prev:
            return "prev_hash does not match the previous entry's hash"
        if not link_intact(e, self.prev):
            return "entry content does not match its hash"
        if e.seq == self.head.seq and e.hash != self.head.hash:
            return "the entry's hash differs from the one the seal head records"
        if e.kind == GAP_KIND:
            self.rolled_back.append(e.seq)
        return ""

    def tail(self, e: JournalEntry, sealed_after: int) -> str:
        if self.last < self.head.seq:
            return (f"the sealed chain ends at seq {self.last} but its seal head records seq "
                    f"{self.head.seq}: sealed entries were removed")
        if e.entry_hash is None and not e.sealed:
            return "an unsealed entry carries no entry hash"
        if not content_intact(e):
            return "entry content does not match its hash"
        # Sealed while we walked (a sealer ran meanwhile): fine up to the later head;
        # a link beyond it was not written through the seal head.
        if e.sealed and e.seq > sealed_after:
            return f"entries after seq {sealed_after} were not sealed through the seal head"
        if e.seq > self.last + 1:
            if self.gaps_final:
                return f"sequence gap: expected {self.last + 1}, found {e.seq}"
            self.missing(self.last + 1, e.seq - 1)
        return ""


def verify(
    entries: Iterable[JournalEntry],
    head: SealHead,
    *,
    sealed_after: Callable[[], int],
    issued: int | None = None,
    gaps_final: bool = False,
    start: tuple[int, str] = (0, GENESIS),
    end: int | None = None,
) -> ChainReport:
    """Walk `entries` in seq order against the seal `head` read before the walk.

    `sealed_after()` reads the seal head's seq after the walk (a sealer may run
    meanwhile); `issued` is the highest number the database had handed out before the
    walk; `gaps_final`: the database leaves no gap for a rolled-back step, so every
    missing number is a removed entry.

    A range: `entries` are those from `start[0] + 1` to `end`, `start` the seq and link of
    the entry before them ((0, GENESIS): from the beginning); `end` None: to the end."""
    w = _Walk(head, gaps_final, start)
    after: int | None = None
    for e in entries:
        w.n += 1
        if e.seq <= head.seq:
            reason = w.sealed(e)
            if not reason:
                w.prev = e.hash or GENESIS
        else:
            if after is None:
                after = max(sealed_after(), head.seq)
            reason = w.tail(e, after)
            w.unsealed += not reason
        if reason:
            broken = e.seq if w.last >= head.seq or e.seq <= head.seq else w.last + 1
            return w.report(broken, reason)
        w.last = e.seq
    stop = head.seq if end is None else min(head.seq, end)
    if w.last < stop:
        return w.report(w.last + 1, f"the journal ends at seq {w.last} but its seal head "
                                    f"records seq {head.seq}: entries were removed from the end")
    if end is not None and end < (issued or 0):
        return w.report()  # the range stops before the end: what lies after is not its own
    beyond = max(0, (issued or 0) - w.last)
    if beyond and gaps_final:
        return w.report(w.last + 1, f"the database handed out seq {issued} but the journal "
                                    f"ends at seq {w.last}: entries were removed from the end",
                        beyond)
    return w.report(beyond=beyond)
