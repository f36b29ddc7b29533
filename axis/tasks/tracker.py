"""Task tracking READS the journal (../shared/design.md, "Events"): the pipeline is never
asked to call it. A pass takes the tracker's cursor, reads the entries after it, applies
what they mean to the tasks (axis/tasks/traffic.py, the lifecycle) and writes the task
rows, their `task.*` journal entries and the cursor's advance in ONE transaction:

- `package.accepted` of a document carrying a task list → its tasks exist; naming tasks
  in `ResponseForTask` → replied, with completion time = that entry's time, the instant
  the node accepted the reply (Art. 13.4: the node's signed receipt is the evidence);
- `package.accepted` of a status package carrying task events → each event applied, at
  the node's acceptance time (never a time the package states);
- `delivery.delivered` of a document → the recipient's tasks in it are received.

Exactly once. A crash anywhere before the commit leaves nothing: the next pass reads the
same entries again. Two workers never apply an entry twice: the cursor row is locked for
the pass (the second finds it locked and skips, or on SQLite waits and then finds the
cursor moved). Only SEALED entries are read: on PostgreSQL journal numbers are handed
out at insert and committed out of order, so an entry below the cursor could still
commit after the cursor passed it; the seal head is the point below which every number
is final (adapters/store/route_journal.py). The seal runs every second; the tracker's
job seals first (without claiming gaps) to keep its lag short.

A package's bytes come from the package store (content-addressed, the `package.accepted`
entry's subject). Only packages whose header mentions the extension's namespace or
`ResponseForTask` are read whole and parsed (`mentions_tasks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from axis import errors
from axis.clock import Clock
from axis.edxml import safexml
from axis.edxml.model import DocumentPackage, Kind, StatusPackage
from axis.edxml.reader import read_tree
from axis.errors import AxisError
from axis.journal.chain import JournalEntry
from axis.route.ports import PackageBlobs
from axis.settings import EdxmlSettings
from axis.tasks import records, traffic
from axis.tasks.extension import read_extension
from axis.tasks.lifecycle import Task, TaskState
from axis.tasks.model import TASKS_NS, TaskExtension
from axis.tasks.ports import TaskStore, TaskTx, Versioned

CURSOR = "tracker"
BATCH = 200
_MARKS = (TASKS_NS.encode(), b"ResponseForTask")
# The body's start tag (text cannot hold a bare "<"): the header is over.
_BODY = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,40}:)?edXMLBody[\s>/]")


@dataclass(frozen=True, slots=True)
class Pass:
    read: int = 0  # journal entries read
    transitions: int = 0  # task rows created or changed
    busy: bool = False  # another worker holds the cursor
    more: bool = False  # a full batch: call again
    cursor: int = 0


@dataclass(slots=True)
class Tracker:
    store: TaskStore
    blobs: PackageBlobs
    clock: Clock
    limits: EdxmlSettings = field(default_factory=EdxmlSettings)
    # A test seam: called after the pass has written everything, before the commit
    # (raise to simulate a crash there; block to hold the cursor).
    before_commit: Callable[[], None] | None = None

    def run_once(self, limit: int = BATCH) -> Pass:
        with self.store.transaction() as tx:
            cursor = tx.take_cursor(CURSOR)
            if cursor is None:
                return Pass(busy=True)
            entries = tx.journal_page(cursor.seq, tx.sealed_through(), limit)
            changed = sum(self._entry(tx, e) for e in entries)
            last = entries[-1].seq if entries else cursor.seq
            tx.move_cursor(CURSOR, seq=last)
            if self.before_commit is not None:
                self.before_commit()
            return Pass(read=len(entries), transitions=changed,
                        more=len(entries) == limit, cursor=last)

    def run(self, passes: int = 50) -> int:
        """Passes until caught up (or `passes` done); the task rows changed."""
        total = 0
        for _ in range(passes):
            done = self.run_once()
            total += done.transitions
            if not done.more:
                break
        return total

    # --- one journal entry --------------------------------------------------------
    def _entry(self, tx: TaskTx, e: JournalEntry) -> int:
        if e.kind == "package.accepted":
            return self._accepted(tx, e)
        if e.kind == "delivery.delivered":
            return self._delivered(tx, e)
        return 0

    def _delivered(self, tx: TaskTx, e: JournalEntry) -> int:
        d = tx.route.get_delivery(e.subject)
        if d is None or d.kind is not Kind.EDOC:
            return 0
        stored = tx.tasks_of_document(d.sender_id, d.document_id, for_update=True)
        if not stored:
            return 0
        old = {v.task.code: v for v in stored}
        new = traffic.on_delivered(tuple(v.task for v in stored), d.recipient_id, e.at)
        return sum(self._save(tx, old[t.code], t, e) for t in new)

    def _accepted(self, tx: TaskTx, e: JournalEntry) -> int:
        stored = tx.route.get_package(e.subject)
        if stored is not None and stored.received_at != e.at:
            # The same bytes again (a duplicate, journaled as accepted too): their first
            # acceptance is the one that counts (13.4), and it was read then.
            return 0
        content = self.blobs.content(e.subject)
        if not mentions_tasks(content.chunks()):
            return 0
        raw = content.read()
        try:
            root = safexml.parse(raw, self.limits)
            package, _ = read_tree(root, self.limits)
            ext = read_extension(root, limits=self.limits)
        except AxisError as exc:  # accepted by the pipeline, but its extension is not sound
            records.refused(tx, "-", exc, now=self.clock.now(),
                            actor=str(e.payload.get("sender", "")), event=e.kind,
                            source=e.seq)
            return 0
        if isinstance(package, StatusPackage):
            return self._status(tx, package, ext, e) if ext.events else 0
        count = self._assigning(tx, package, ext, e) if ext.tasks else 0
        if package.header.response_for_task:
            count += self._reply(tx, package, e)
        return count

    def _assigning(self, tx: TaskTx, package: DocumentPackage, ext: TaskExtension,
                   e: JournalEntry) -> int:
        now = self.clock.now()
        try:
            made = traffic.tasks_from_document(package, ext, accepted_at=e.at)
        except AxisError as exc:
            records.refused(tx, ext.tasks[0].code, exc, now=now, actor=package.sender_id,
                            event="assigned", source=e.seq)
            return 0
        count = 0
        for task in made:
            if records.created(tx, task, now=now, source=e.seq):
                count += 1
            else:
                records.refused(tx, task.code, errors.TASK_EXTENSION_INVALID.error(
                    f"task code {task.code} is already assigned"), now=now,
                    actor=package.sender_id, event="assigned", source=e.seq)
        return count

    def _reply(self, tx: TaskTx, package: DocumentPackage, e: JournalEntry) -> int:
        old = tx.tasks(package.header.response_for_task, for_update=True)
        doc = package.header.document_id
        # The reply awaiting approval sent again under other bytes (re-signed): the same
        # result, whose completion time stays its first acceptance (13.4).
        again = {c for c, v in old.items()
                 if v.task.reply is not None and v.task.reply.document_id == doc
                 and v.task.state is TaskState.AWAITING_APPROVAL}
        if again:
            codes = tuple(c for c in package.header.response_for_task if c not in again)
            package = replace(package, header=replace(package.header,
                                                      response_for_task=codes))
        outcomes = traffic.on_reply(_plain(old), package, e.at)
        return self._outcomes(tx, old, outcomes, e, package.sender_id, "replied")

    def _status(self, tx: TaskTx, status: StatusPackage, ext: TaskExtension,
                e: JournalEntry) -> int:
        old = tx.tasks({ev.task_code for ev in ext.events}, for_update=True)
        outcomes = traffic.on_status(_plain(old), status, ext, e.at)
        return self._outcomes(tx, old, outcomes, e, status.sender_id, "status")

    def _outcomes(self, tx: TaskTx, old: dict[str, Versioned],
                  outcomes: tuple[traffic.Outcome, ...], e: JournalEntry, actor: str,
                  event: str) -> int:
        count = 0
        current = dict(old)
        for out in outcomes:
            if out.error is not None:
                records.refused(tx, out.code, out.error, now=self.clock.now(), actor=actor,
                                event=event, source=e.seq)
            elif out.task is not None and out.code in current:
                before = current[out.code]
                current[out.code] = records.changed(tx, before, out.task,
                                                    now=self.clock.now(), source=e.seq)
                count += current[out.code] is not before
        return count

    def _save(self, tx: TaskTx, old: Versioned, new: Task, e: JournalEntry) -> int:
        return int(records.changed(tx, old, new, now=self.clock.now(), source=e.seq)
                   is not old)


def mentions_tasks(chunks: Iterable[bytes]) -> bool:
    """Whether the package's header mentions the extension or ResponseForTask, read chunk
    by chunk up to the body: both live in MessageHeader, which comes before edXMLBody,
    so a 45 MB document without tasks is never read whole (issue 9)."""
    keep = 64
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if any(mark in window for mark in _MARKS):
            return True
        if _BODY.search(window):
            return False
        tail = window[-keep:]
    return False


def _plain(found: Mapping[str, Versioned]) -> dict[str, Task]:
    return {code: v.task for code, v in found.items()}
