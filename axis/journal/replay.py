"""`axis audit replay` (issue 11, item 2): the recorded packages of a period judged again by
today's pipeline, at their recorded time, against the registry and the trust settings as
they were then; every decision that differs from the recorded one is reported.

The past is judged as it was: the registry is rebuilt change by change (its history) and
each package meets the registry of its moment, in time order (a suspended agency refuses
then, even if reactivated since); trust checks revocation as of the package's time (a
certificate revoked later was valid then: axis/trust/crl.py). So what differs is what
today's code or today's configuration would decide otherwise: a changed validation rule,
limit or calendar.

Deterministic: the sandbox starts empty every run, its clock is the recorded time, its
ids come from a counter, and the report holds only what was recorded and what was judged,
in journal order. Two runs over the same database give the same report.

Ports: `ReplaySource` reads what the node recorded (adapters/store/replay_source.py);
`Sandbox` is a node of its own built like the real one (adapters/replay_sandbox.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from axis import errors
from axis.clock import iso
from axis.registry.model import AgencyChange

# Refusals the pipeline decided on what only the edge knew (the caller's authentication
# and its declared message type): not judged again, since the edge is not re-run.
EDGE_CODES = frozenset({errors.AUTH_SENDER_MISMATCH.id, errors.MESSAGE_TYPE_MISMATCH.id})

# What the report's header says of the replay's limits (docs/operations.md, "Replay").
NOT_REPLAYED = (
    "the caller's authentication at the edge (which agency may send for which sender) "
    "is not re-run: accepted packages are judged without it, and refusals it decided "
    f"({', '.join(sorted(EDGE_CODES))}) are listed as skipped",
    "refusals an edge decided before the pipeline (a body too large, an undecodable "
    "request) and refused packages whose bytes were not kept (kept: false, pruned) are "
    "listed as skipped",
    "a package a peer brought is judged with that peer's admission list only when it was "
    "accepted (the journal names the peer of accepted packages): a refused one is judged "
    "as if an agency had sent it",
)


@dataclass(frozen=True, slots=True)
class Decision:
    accepted: bool
    code: str = ""  # the refusal's error code; "" when accepted
    recipients: tuple[str, ...] = ()  # the copies made of the package, sorted

    def as_dict(self) -> dict[str, object]:
        return {"accepted": self.accepted, "code": self.code,
                "recipients": list(self.recipients)}


@dataclass(frozen=True, slots=True)
class Taken:
    """A copy its recipient took, with the Art. 11.2 receipt time recorded for it."""

    recipient: str
    delivered_at: datetime
    effective_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """A package decision as the journal holds it."""

    seq: int
    at: datetime
    sha256: str
    decision: Decision
    sender: str = ""  # recorded for accepted packages only
    document_id: str = ""
    error_id: str = ""  # refused: the journal entry's subject
    kept: bool = True  # refused: whether its bytes were kept
    peer: str = ""  # brought by this peer (issue 10): judged with its admission list
    taken: tuple[Taken, ...] = ()


@dataclass(frozen=True, slots=True)
class Judged:
    """The sandbox's decision, and who and what the package names as read (blank when
    it cannot be read)."""

    decision: Decision
    sender: str = ""
    document_id: str = ""
    named: tuple[str, ...] = ()  # the agencies it is addressed to (or is about)


@dataclass(frozen=True, slots=True)
class TrustRecord:
    """A `node.trust_settings` entry (axis/journal/trust_settings.py)."""

    seq: int
    at: datetime
    settings: dict[str, object]


class ReplaySource(Protocol):
    def recorded(self, start: datetime, end: datetime) -> list[Recorded]:
        """The package decisions journaled in [start, end], in journal order."""

    def context(self, before: datetime, document_ids: Sequence[str]) -> list[Recorded]:
        """Packages accepted before `before` about these documents, in journal order:
        what the window's statuses, recalls and duplicates refer to."""

    def registry_changes(self, until: datetime) -> list[AgencyChange]:
        """The registry's history up to `until`, in the order it was written."""

    def trust_records(self, until: datetime) -> list[TrustRecord]: ...

    def package(self, recorded: Recorded) -> bytes | None:
        """The package's bytes (the package store, or the refused evidence store)."""


class Sandbox(Protocol):
    def restore(self, change: AgencyChange) -> None:
        """The registry as this change left it."""

    def configure(self, record: TrustRecord) -> None:
        """The trust settings as this record says (what the sandbox can take of it)."""

    def judge(self, raw: bytes, at: datetime, *, peer: str = "") -> Judged: ...

    def effective_receipt_time(self, at: datetime) -> datetime:
        """Art. 11.2 with today's calendar."""


@dataclass(frozen=True, slots=True)
class Filters:
    agency: frozenset[str] = frozenset()  # both identifier forms of one agency
    document: str = ""

    def match(self, r: Recorded, j: Judged | None) -> bool:
        senders = {r.sender, j.sender if j else ""}
        docs = {r.document_id, j.document_id if j else ""}
        recipients = set(r.decision.recipients) | set(
            j.decision.recipients + j.named if j else ())
        if self.document and self.document not in docs:
            return False
        return not self.agency or bool(self.agency & (senders | recipients))


@dataclass(slots=True)
class Report:
    start: datetime
    end: datetime
    filters: Filters
    packages: int = 0  # recorded decisions in the window that match the filters
    replayed: int = 0
    differences: list[dict[str, object]] = field(default_factory=list)
    skipped: list[dict[str, object]] = field(default_factory=list)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, object]:
        return {
            "from": iso(self.start), "to": iso(self.end),
            "filters": {"agency": sorted(self.filters.agency),
                        "document": self.filters.document},
            "ok": self.ok,
            "packages": self.packages, "replayed": self.replayed,
            "same": self.replayed - len(self.differences),
            "differences": self.differences,
            "skipped": self.skipped,
            "header": {"not_replayed": list(NOT_REPLAYED), "notes": list(self.notes)},
        }


Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class _Step:
    recorded: Recorded
    judged_only: bool = False  # context before the window: judged, not reported


_Event = AgencyChange | TrustRecord | _Step


def replay(source: ReplaySource, sandbox: Sandbox, *, start: datetime, end: datetime,
           filters: Filters = Filters(), notes: Sequence[str] = (),
           progress: Progress | None = None) -> Report:
    """Judge the window's packages again; see the module's docstring."""
    window = source.recorded(start, end)
    # Every package of the window is judged (the filters apply to the report): each one
    # changes what the next finds in the store (duplicates, recalls, statuses).
    docs = sorted({r.document_id for r in window if r.document_id})
    context = source.context(start, docs)
    # One timeline: registry changes and trust records before the packages of the same
    # instant (a change the node wrote at that very time was in force for them).
    events: list[tuple[datetime, int, int, _Event]] = []
    for i, change in enumerate(source.registry_changes(end)):
        events.append((change.at, 0, i, change))
    for rec in source.trust_records(end):
        events.append((rec.at, -1, rec.seq, rec))
    for r in context:
        events.append((r.at, 1, r.seq, _Step(r, judged_only=True)))
    for r in window:
        events.append((r.at, 1, r.seq, _Step(r)))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    report = Report(start, end, filters, notes=tuple(notes))
    done = 0
    configured = False
    for _, _, _, item in events:
        if isinstance(item, AgencyChange):
            sandbox.restore(item)
        elif isinstance(item, TrustRecord):
            sandbox.configure(item)
            configured = True
        elif item.judged_only:
            raw = source.package(item.recorded)
            if raw is not None:
                sandbox.judge(raw, item.recorded.at, peer=item.recorded.peer)
        else:
            if not configured:
                configured = True  # said once
                report.notes += (f"no trust settings record before {iso(item.recorded.at)}:"
                                 " today's trust settings judge the packages before the "
                                 "first one",)
            _one(source, sandbox, item.recorded, report)
            done += 1
            if progress is not None:
                progress(done, len(window))
    return report


def _one(source: ReplaySource, sandbox: Sandbox, r: Recorded, report: Report) -> None:
    skip = _not_replayable(r)
    raw = None if skip else source.package(r)
    if raw is None and not skip:
        skip = "the package's bytes are not in the store"
    if skip:
        if report.filters.match(r, None):
            report.packages += 1
            report.skipped.append({**_ident(r), "reason": skip})
        return
    assert raw is not None
    judged = sandbox.judge(raw, r.at, peer=r.peer)
    if not report.filters.match(r, judged):
        return
    report.packages += 1
    report.replayed += 1
    fields = _compare(sandbox, r, judged.decision)
    if fields:
        report.differences.append({
            **_ident(r), "sender": r.sender or judged.sender,
            "document_id": r.document_id or judged.document_id,
            "differs": [f[0] for f in fields],
            "recorded": {**r.decision.as_dict(), **{k: v for k, v, _ in fields
                                                   if k == "effective_at"}},
            "replayed": {**judged.decision.as_dict(), **{k: w for k, _, w in fields
                                                        if k == "effective_at"}},
        })


def _not_replayable(r: Recorded) -> str:
    if r.decision.accepted:
        return ""
    if r.decision.code in EDGE_CODES:
        return f"refused at the edge's request ({r.decision.code}): not re-run"
    if not r.kept:
        return "refused without its bytes kept (an edge's refusal, or the evidence cap)"
    return ""


def _compare(sandbox: Sandbox, r: Recorded,
             now: Decision) -> list[tuple[str, object, object]]:
    """(field, recorded, replayed) of each difference, in a fixed order."""
    was = r.decision
    out: list[tuple[str, object, object]] = []
    if was.accepted != now.accepted:
        out.append(("accepted", was.accepted, now.accepted))
    elif not was.accepted and was.code != now.code:
        out.append(("code", was.code, now.code))
    elif was.accepted and was.recipients != now.recipients:
        out.append(("recipients", list(was.recipients), list(now.recipients)))
    if was.accepted and now.accepted:
        # Art. 11.2: the receipt time of each copy taken, by today's calendar.
        then: dict[str, str | None] = {}
        again: dict[str, str | None] = {}
        for t in r.taken:
            if t.recipient in now.recipients:
                then[t.recipient] = iso(t.effective_at) if t.effective_at else None
                again[t.recipient] = iso(sandbox.effective_receipt_time(t.delivered_at))
        if then != again:
            out.append(("effective_at", then, again))
    return out


def _ident(r: Recorded) -> dict[str, object]:
    return {"seq": r.seq, "at": iso(r.at), "sha256": r.sha256, "error_id": r.error_id,
            "sender": r.sender, "document_id": r.document_id}
