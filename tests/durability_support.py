"""Helpers of the durability tests: a signed package set on disk, node child processes
(tests/durability_node.py) read line by line with deadlines, and the after-the-fact audit
of the database (a PostgreSQL schema, or the embedded default's SQLite file in the data
dir) and, on RabbitMQ, of the queues.

Two backends (`BACKENDS`): "rabbit-postgres" (production: PostgreSQL and RabbitMQ under a
prefix of the test's own) and "embedded" (the default an operator gets: SQLite under the
data dir and no broker, the outbox delivered straight into the inboxes).

Kept free of timing tricks: the parent decides when to kill a child from the lines it has
read (an answer, a confirmed batch, a consumed message), never from a sleep.
"""

from __future__ import annotations

import queue
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from exchange_support import KE_HOACH, NOI_VU, SEED, SIGNERS, TAI_CHINH, TU_PHAP, UBND, TestNode
from service_support import (
    broker_prefix,
    postgres_lease,
    rabbitmq_lease,
    require_postgres,
    require_rabbitmq,
    wait_until,
)
from sqlalchemy import func, select
from store_support import database_url

from adapters.amqp.rabbit import RabbitBroker
from adapters.node import Node, build_node
from adapters.store.route_tables import deliveries, inbox
from axis import errors
from axis.edxml.model import Priority
from axis.registry import codec
from axis.settings import Settings, TrustSettings

REPO = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "durability_node.py"
# Recipients: the five signing agencies and three more; 000.00.01.H37 is a push agency
# (the node fills its inbox too). None of them is an `amqp` agency, which the node would
# leave to consume its own queue.
RECIPIENTS = (UBND, NOI_VU, TAI_CHINH, KE_HOACH, TU_PHAP,
              "000.00.01.H37", "000.00.06.H37", "000.00.07.H37")
UNKNOWN = "000.00.99.H37"  # well formed, not in the registry
LINE_TIMEOUT_S = 90.0  # one child line; a broker restart on a slow machine included
BROKER_BACK_S = 90.0
EMBEDDED, RABBIT_POSTGRES = "embedded", "rabbit-postgres"
BACKENDS = (EMBEDDED, RABBIT_POSTGRES)
LEASE_WAIT_S = 1800.0  # another run's durability test may hold a service this long


# --- the package set ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Expect:
    """What the node must answer for one package file."""

    name: str
    sender: str
    document_id: str
    recipients: tuple[str, ...]  # empty for a package that must be refused
    refusal: str = ""  # the expected error code of a bad package

    @property
    def good(self) -> bool:
        return not self.refusal


def tamper(raw: bytes) -> bytes:
    """Flip one byte inside the signed Subject: still well-formed, no longer authentic."""
    marker = b"<edXML:Subject>V"
    at = raw.index(marker) + len(marker) - 1
    return raw[:at] + b"W" + raw[at + 1:]


def write_packages(t: TestNode, directory: Path, good: int, bad: int,
                   rng: random.Random) -> dict[str, Expect]:
    """`good` signed packages (1–3 recipients, mixed priorities) and `bad` ones, alternately
    addressed to an unknown agency or with a tampered signature. Files are named so that
    any subset can be fed to a node in any order."""
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, Expect] = {}
    for n in range(good + bad):
        sender = rng.choice(SIGNERS)
        pool = [r for r in RECIPIENTS if r != sender]
        recipients = tuple(rng.sample(pool, rng.randint(1, 3)))
        priority = rng.choice([Priority.NORMAL] * 3 + list(Priority))
        number = 10_000 + n  # unique: every package is a document of its own
        if n < good:
            doc_id, raw = t.document(sender, recipients, number, priority=priority)
            expect = Expect(f"p{n:05d}.xml", sender, doc_id, recipients)
        elif n % 2:
            doc_id, raw = t.document(sender, (recipients[0], UNKNOWN), number)
            expect = Expect(f"bad-unknown-{n:05d}.xml", sender, doc_id, (),
                            refusal=errors.UNKNOWN_AGENCY.id)
        else:
            doc_id, raw = t.document(sender, recipients, number)
            raw = tamper(raw)
            expect = Expect(f"bad-tampered-{n:05d}.xml", sender, doc_id, (),
                            refusal=errors.SIGNATURE_INVALID.id)
        (directory / expect.name).write_bytes(raw)
        out[expect.name] = expect
    return out


# --- the shared world of one test: schema, prefix, data dir ------------------------------

@dataclass
class World:
    """One test's node data directory and database (its PostgreSQL schema, or the SQLite
    file in the data dir) and RabbitMQ prefix (empty on the embedded default), seeded, with
    a node of the parent's own (never submitting, never delivering) to audit the result."""

    tmp: Path
    database_url: str  # "" on the embedded default: SQLite under the data dir
    broker_url: str  # "" on the embedded default: no broker
    prefix: str
    anchors: Path
    packages: Path
    audit: Node
    children: list[Child] = field(default_factory=list)
    runs: int = 0

    @property
    def data_dir(self) -> Path:
        return self.tmp / "var"

    @property
    def rabbit(self) -> bool:
        return bool(self.broker_url)

    def start(self, order: Sequence[str], *, name: str = "node", wait_go: bool = False,
              worker_every: int = 10, lines: Lines | None = None,
              sigkill_after_accepts: int = 0, take: Sequence[str] = (),
              reconcile_after_s: int = 0, reconcile_each_pass: bool = False) -> Child:
        """A node process submitting `order` (file names), lines readable at once."""
        self.runs += 1
        run_dir = self.tmp / f"run-{self.runs:02d}-{name}"
        run_dir.mkdir()
        order_file = run_dir / "order.txt"
        order_file.write_text("\n".join(order) + "\n")
        args = [
            sys.executable, str(CHILD),
            "--data-dir", str(self.data_dir), "--database-url", self.database_url,
            "--broker-url", self.broker_url, "--prefix", self.prefix,
            "--anchors", str(self.anchors), "--packages", str(self.packages),
            "--order", str(order_file), "--worker-every", str(worker_every),
        ]
        if wait_go:
            args.append("--wait-go")
        if sigkill_after_accepts:
            args += ["--sigkill-after-accepts", str(sigkill_after_accepts)]
        if take:
            args += ["--take", ",".join(take)]
        if reconcile_after_s:  # the bound of the pass at start (and of the scheduled ones)
            args += ["--reconcile-after", str(reconcile_after_s)]
        if reconcile_each_pass:  # a pass after each delivery pass, as the scheduler runs
            args.append("--reconcile-each-pass")
        child = Child(f"{name}#{self.runs}", args, run_dir / "stderr.txt", lines)
        self.children.append(child)
        return child


@contextmanager
def world(tmp: Path, anchors: Path, packages: Path, *, backend: str = RABBIT_POSTGRES,
          exclusive_broker: bool = False, exclusive_database: bool = False) -> Iterator[World]:
    """The backend's services or skip (fail in CI); a fresh schema and prefix, or a fresh
    data dir on the embedded default; a seeded registry and the node identity made once
    here, so that concurrent children find them ready. Children are killed and reaped,
    the prefix's queues deleted and the schema dropped afterwards."""
    if backend == EMBEDDED:
        settings = Settings(data_dir=tmp / "var", trust=TrustSettings(anchors_dir=anchors))
        audit = build_node(settings)  # no broker: its worker would deliver directly
        w = World(tmp, "", "", "", anchors, packages, audit)
        try:
            seed(audit)
            yield w
        finally:
            for child in w.children:
                child.kill()
            audit.close()
        return
    broker_url = require_rabbitmq()
    require_postgres()
    # Always RabbitMQ first, then PostgreSQL: no two runs can wait for each other.
    with rabbitmq_lease(exclusive=exclusive_broker, timeout_s=LEASE_WAIT_S), \
            postgres_lease(exclusive=exclusive_database, timeout_s=LEASE_WAIT_S), \
            database_url("postgresql", tmp) as db:
        prefix = broker_prefix("durability")
        settings = Settings(data_dir=tmp / "var", database_url=db, broker_url=broker_url,
                            trust=TrustSettings(anchors_dir=anchors))
        audit = build_node(settings, broker=RabbitBroker(broker_url, prefix=prefix))
        w = World(tmp, db, broker_url, prefix, anchors, packages, audit)
        try:
            seed(audit)
            yield w
        finally:
            for child in w.children:
                child.kill()
            try:
                cleaner = RabbitBroker(broker_url, prefix=prefix)
                # After a restart test the broker may still be coming back.
                wait_until(lambda: answers(cleaner), timeout_s=BROKER_BACK_S,
                           what="RabbitMQ answers for the clean-up")
                cleaner.delete_topology(RECIPIENTS)
            finally:
                audit.close()  # before the schema is dropped


def seed(node: Node) -> None:
    node.registry.import_rows(codec.load_json(SEED.read_text(encoding="utf-8")),
                              actor="durability-test", reason="seed", only_new=True)


def answers(broker: RabbitBroker) -> bool:
    try:
        broker.depth(UBND)
    except errors.AxisError:
        return False
    return True


# --- child processes -----------------------------------------------------------------------

Lines = queue.Queue[tuple[str, str | None]]  # (child name, line or None at its end)


class Child:
    """A node process whose stdout lines arrive through a queue (a reader thread keeps the
    pipe drained, so the child never blocks on a full pipe while the parent is busy).
    Several children may share one queue, to be read in the order they spoke."""

    def __init__(self, name: str, args: list[str], stderr_file: Path,
                 lines: Lines | None = None) -> None:
        self.name = name
        self.stderr_file = stderr_file
        self._err: IO[bytes] = stderr_file.open("wb")
        self.proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._err, text=True,
                                     bufsize=1)
        self.lines: Lines = lines if lines is not None else queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                if line.endswith("\n"):  # a line cut by the kill was never a whole answer
                    self.lines.put((self.name, line[:-1]))
        finally:
            self.lines.put((self.name, None))  # end of output: the child exited or was killed

    def next(self, timeout_s: float = LINE_TIMEOUT_S) -> str | None:
        """The next line, None at the end of the output; fails the test after a silence.
        (Only for a child with a queue of its own.)"""
        _, line = next_line(self.lines, [self], timeout_s)
        return line

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL (no clean-up of any kind in the child) and reap. Idempotent."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        for pipe in (self.proc.stdin, self.proc.stdout):
            with suppress(OSError):
                if pipe is not None:
                    pipe.close()
        self._err.close()

    def finish(self) -> None:
        """After DONE: the child must exit 0 on its own."""
        code = self.proc.wait(timeout=60)
        self.kill()  # reaps the reader and closes pipes; the process is already gone
        if code != 0:
            pytest.fail(f"{self.name} exited {code}; {self.stderr_tail()}")

    def stderr_tail(self) -> str:
        text = self.stderr_file.read_text(errors="replace") if self.stderr_file.exists() else ""
        return f"stderr of {self.name}: ...{text[-3000:]}"


def next_line(lines: Lines, children: Sequence[Child],
              timeout_s: float = LINE_TIMEOUT_S) -> tuple[str, str | None]:
    """The next (child name, line) from a queue; fails the test after a silence."""
    try:
        return lines.get(timeout=timeout_s)
    except queue.Empty:
        tails = "; ".join(c.stderr_tail() for c in children)
        pytest.fail(f"no child said anything for {timeout_s} s; {tails}")


# --- what the children said ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Answer:
    accepted: bool
    ids: tuple[str, ...] = ()
    code: str = ""
    duplicate: bool = False


@dataclass
class Log:
    """Everything read from one or more children, parsed."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    fetched: Counter[str] = field(default_factory=Counter)  # delivery id -> times consumed
    redelivered: int = 0  # consumed messages the broker flagged as given out before
    published: int = 0  # messages in confirmed batches
    faults: Counter[str] = field(default_factory=Counter)  # FAULT/WORKER-FAULT codes
    inbox_writes: int = 0  # embedded: copies written into inboxes (committed or not)
    taken: set[str] = field(default_factory=set)  # delivery ids a recipient took
    take_faults: Counter[str] = field(default_factory=Counter)  # code -> failed takes
    republished: int = 0  # deliveries reconciliation handed to the outbox again
    arrivals: int = 0  # node 01s reconciliation emitted late

    def take(self, line: str) -> str:
        """Record one line; returns its first word."""
        word, _, rest = line.partition(" ")
        parts = rest.split()
        if word == "ACCEPTED":
            ids = tuple(parts[1].split(",")) if len(parts) > 1 else ()
            self.answers.setdefault(parts[0], []).append(
                Answer(True, ids, duplicate="duplicate" in parts[2:]))
        elif word == "REFUSED":
            self.answers.setdefault(parts[0], []).append(Answer(False, code=parts[1]))
        elif word == "FETCHED":
            self.fetched[parts[0]] += 1
            self.redelivered += parts[1] == "1"
        elif word == "PUBLISHED":
            self.published += int(parts[0])
        elif word in {"FAULT", "WORKER-FAULT"}:
            self.faults[f"{word} {parts[-1]}"] += 1
        elif word == "INBOX":
            self.inbox_writes += 1
        elif word == "TAKEN":
            self.taken.add(parts[0])
        elif word == "TAKE-FAULT":
            self.take_faults[parts[1]] += 1
        elif word == "RECONCILED":
            self.republished += int(parts[0])
            self.arrivals += int(parts[1])
        return word

    def fault_codes(self, word: str = "FAULT") -> set[str]:
        """The codes of the faults answered (FAULT) or met by passes (WORKER-FAULT)."""
        return {k.split(" ", 1)[1] for k in self.faults if k.split(" ", 1)[0] == word}

    @property
    def consumed_again(self) -> int:
        """Broker messages consumed more than once: each one a duplicate the consumer's
        delivery-id dedupe had to absorb."""
        return sum(n - 1 for n in self.fetched.values())


def run_to_done(child: Child, log: Log) -> None:
    """Read a child to its DONE and exit."""
    while (line := child.next()) is not None:
        if log.take(line) == "DONE":
            child.finish()
            return
        if line.startswith(("TIMEOUT", "GAVE-UP")):
            break
    pytest.fail(f"{child.name} ended without DONE; {child.stderr_tail()}")


# --- the audit -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Audit:
    deliveries: int  # copies of the submitted packages
    inbox: int
    journal_kinds: Counter[str]
    taken: int = 0  # copies a recipient took
    arrivals: int = 0  # the node's status 01s for them


def audit(w: World, expects: dict[str, Expect], log: Log) -> Audit:
    """Everything the issue asks of the end state, checked on the database (and the
    broker, on RabbitMQ): each answer right, each accepted package in each recipient's
    inbox exactly once with the delivery id its receipt named (or taken from it, and then
    exactly one status 01 of the node in the original sender's inbox), nothing of a
    refused package anywhere, every copy's bytes readable, nothing left in the outbox or
    the queues, the journal intact and one `delivery.available` per delivery (a
    duplicate that slipped past the dedupe, or an outbox entry moved twice, would make
    two)."""
    missing = sorted(set(expects) - set(log.answers))
    assert not missing, f"{len(missing)} packages never answered: {missing[:5]}"
    for name, said in log.answers.items():
        e = expects[name]
        for a in said:
            if e.good:
                assert a.accepted, f"{name} refused: {a.code}"
                assert len(a.ids) == len(e.recipients), (name, a)
            else:
                assert (a.accepted, a.code) == (False, e.refusal), (name, a)
        # Every answer for the same package names the same copies (a retry after a kill,
        # or the other node): the same receipt, never a second delivery.
        assert len({a.ids for a in said}) == 1, (name, said)

    with w.audit.store.engine.connect() as conn:
        d, i = deliveries.c, inbox.c
        all_rows = conn.execute(select(d.delivery_id, d.sender_id, d.document_id,
                                       d.recipient_id, d.state, d.origin, d.kind,
                                       d.status_code, d.package_sha256)).all()
        inbox_rows = conn.execute(select(i.delivery_id, i.sender_id, i.document_id,
                                         i.agency_id)).all()
        inbox_count = conn.execute(select(func.count()).select_from(inbox)).scalar_one()

    rows = [r for r in all_rows if r.origin == "sender"]
    node_rows = [r for r in all_rows if r.origin != "sender"]
    taken = {r.delivery_id for r in rows if r.state == "delivered"}
    stuck = [r.delivery_id for r in rows if r.state not in ("available", "delivered")]
    assert not stuck, f"{len(stuck)} deliveries never reached an inbox: {stuck[:5]}"
    assert log.taken <= taken, f"taken, yet not delivered: {sorted(log.taken - taken)[:5]}"
    # A take the client was told failed may still have committed (then it retries).
    assert len(taken - log.taken) <= sum(log.take_faults.values()), sorted(taken - log.taken)

    by_copy: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        by_copy.setdefault((r.sender_id, r.document_id, r.recipient_id), []).append(
            r.delivery_id)
    in_inbox: dict[tuple[str, str, str], list[str]] = {}
    for row in inbox_rows:
        in_inbox.setdefault((row.sender_id, row.document_id, row.agency_id), []).append(
            row.delivery_id)

    expected_copies = 0
    for name, e in expects.items():
        ids = log.answers[name][0].ids
        if not e.good:
            assert not [k for k in by_copy if k[:2] == (e.sender, e.document_id)], (
                f"refused {name} has deliveries")
            assert not [k for k in in_inbox if k[:2] == (e.sender, e.document_id)], (
                f"refused {name} reached an inbox")
            continue
        for recipient, delivery_id in zip(e.recipients, ids, strict=True):
            key = (e.sender, e.document_id, recipient)
            assert by_copy.get(key) == [delivery_id], (name, recipient, by_copy.get(key))
            wanted = [] if delivery_id in taken else [delivery_id]
            assert in_inbox.get(key, []) == wanted, (name, recipient, in_inbox.get(key))
            expected_copies += 1
    assert len(rows) == expected_copies, (len(rows), expected_copies)

    # The node's own statuses: exactly one 01 per copy taken (Art. 11.2), on behalf of
    # the recipient, to the original sender, in its inbox (nobody takes statuses here).
    arrivals: dict[tuple[str, str, str], list[str]] = {}
    for r in node_rows:
        assert (r.kind, r.status_code) == ("status", "01"), r
        assert r.state == "available", r
        arrivals.setdefault((r.recipient_id, r.document_id, r.sender_id), []).append(
            r.delivery_id)
        assert in_inbox.get((r.sender_id, r.document_id, r.recipient_id)) == [r.delivery_id]
    for r in rows:
        if r.delivery_id in taken:
            key = (r.sender_id, r.document_id, r.recipient_id)
            assert len(arrivals.get(key, [])) == 1, ("status 01", key, arrivals.get(key))
    assert len(node_rows) == len(taken), (len(node_rows), len(taken))

    available = expected_copies - len(taken) + len(node_rows)
    assert inbox_count == len(inbox_rows) == available, (inbox_count, available)
    everything = {r.delivery_id for r in all_rows}
    assert set(log.fetched) <= everything, "consumed an unknown delivery"
    # The same through the recipients' own view (what syncReceivedEdocList will list).
    for agency in {*RECIPIENTS, *(r.recipient_id for r in node_rows)}:
        listed = [item.delivery_id for item in w.audit.exchange.inbox(agency, limit=100_000)]
        wanted_ids = sorted(r.delivery_id for r in all_rows
                            if r.recipient_id == agency and r.state == "available")
        assert sorted(listed) == wanted_ids, f"inbox of {agency} differs"
    # What a recipient takes must be there: every copy's package, intact (a digest check).
    for sha in {r.package_sha256 for r in all_rows}:
        w.audit.exchange.blobs.get(sha)

    with w.audit.store.transaction() as tx:
        assert tx.pending_outbox() == 0
    if w.rabbit:
        assert isinstance(w.audit.broker, RabbitBroker)
        for agency in RECIPIENTS:
            assert w.audit.broker.depth(agency) == 0, f"messages left for {agency}"
        assert w.audit.broker.dead_letters() == [], "a delivery was dead-lettered"
    report = w.audit.store.verify_journal()
    assert report.ok, report
    # The sealer (every node's `journal.seal` job) chains all of it, numbers of steps that
    # died with a killed process included: sealed as rolled back once their transaction
    # is gone (PostgreSQL may take a moment to notice a killed client).
    deadline = time.monotonic() + 30
    while True:
        sealing = w.audit.store.seal_journal(w.audit.exchange.clock.now())
        assert not sealing.broken, sealing
        report = w.audit.store.verify_journal()
        if (report.unsealed, report.pending_count) == (0, 0) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert report.ok and (report.unsealed, report.pending_count) == (0, 0), report
    kinds = Counter(entry.kind for entry in w.audit.store.journal())
    assert kinds["delivery.queued"] == len(all_rows), kinds
    assert kinds["delivery.available"] == len(all_rows), kinds
    assert kinds["delivery.delivered"] == len(taken), kinds
    return Audit(len(rows), inbox_count, kinds, len(taken), len(node_rows))


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"
