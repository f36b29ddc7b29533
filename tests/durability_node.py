"""A node process for the durability tests (tests/test_durability.py), standing in for the
REST edge: `python tests/durability_node.py ARGS`.

It builds a real node, either on PostgreSQL and RabbitMQ (under a test prefix) or on the
embedded default (empty --database-url and --broker-url: SQLite under the data dir, no
broker, the outbox delivered straight into the inboxes), with the real trust stage. It
submits pre-signed package files in the order given and answers on stdout, one flushed
line per event, so that the parent can kill it at any moment and know exactly what a
client would have been told:

    READY                                   node built (with --wait-go: waits for a line)
    ACCEPTED <file> <delivery_id,...> [duplicate]
    REFUSED <file> <code>                   sender's fault: never retried
    FAULT <file> <code>                     node's fault: retried later, as a client would
    PUBLISHED <n>                           publish_batch returned (confirmed), not marked
    FETCHED <delivery_id> <redelivered 0|1> a broker message about to be consumed
    INBOX                                   embedded: a copy written into an inbox, inside
                                            the delivery pass's transaction
    MARKED                                  embedded: the pass's outbox entries marked
                                            taken, its last statement before the commit
    TAKEN <delivery_id>                     with --take: a recipient took its copy
    TAKE-FAULT <delivery_id> <code>         ... and the take failed (the node's fault)
    RECONCILED <republished> <arrivals>     a reconciliation pass that moved something
    WORKER-FAULT <code>                     a delivery or reconciliation pass failed
    DONE <passes>                           outbox empty, every consumed queue empty, every
                                            taken copy's status 01 emitted
    GAVE-UP <file>                          the node answered nothing but faults for
                                            --give-up-after seconds

With --sigkill-after-accepts N it kills itself with SIGKILL right after the Nth
submission committed and before its answer is written: a moment no outside observer can
hit on purpose, and the one where a client's retry must get the same receipt again.

Like `axis serve`, it runs a reconciliation pass at start (`Worker.reconcile`); with
--reconcile-each-pass also after every delivery pass, as the node's scheduled job would.
Between submissions it runs delivery passes (`Worker.run_once`), so relay and consumption
happen while it works and a kill lands in any of them. A failed submission goes to the
back of the queue (the client tries again later) and the work goes on. Without --take
nobody takes, so the node emits no status packages of its own: only submissions and their
deliveries move.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from adapters.amqp.rabbit import RabbitBroker
from adapters.node import Node, build_node
from axis.edxml.model import Kind
from axis.errors import AxisError, SenderFault
from axis.route.broker import BrokerMessage, ReceivedMessage
from axis.settings import DeliverySettings, Settings, TrustSettings

RETRY_PAUSE_S = 0.2  # pace of retries after a node fault (not a synchronisation)


def emit(line: str) -> None:
    # Flushed at once: the parent decides when to kill from what it has read, and a line
    # still in our buffer would be an answer the client never got.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fault_code(exc: Exception) -> str:
    """The code a client would be given: an AxisError's own, else what the edges answer
    for anything untranslated (node.internal), with the foreign type to find it by."""
    if isinstance(exc, AxisError):
        return exc.code.id
    return f"node.internal:{type(exc).__name__}"


class ReportingBroker(RabbitBroker):
    """The real adapter, telling the parent when a batch is confirmed (the window before
    the relay marks it sent) and which messages it consumes (to count redeliveries)."""

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        super().publish_batch(messages)
        if messages:
            emit(f"PUBLISHED {len(messages)}")

    def fetch(self, agency_id: str, max_messages: int = 1) -> list[ReceivedMessage]:
        received = super().fetch(agency_id, max_messages)
        for r in received:
            emit(f"FETCHED {r.message.delivery_id} {int(r.redelivered)}")
        return received

    def receive(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        received = super().receive(max_messages, timeout_s)
        for r in received:  # the worker's consumer: reported as the fetches were
            emit(f"FETCHED {r.message.delivery_id} {int(r.redelivered)}")
        return received


def report_direct_delivery(node: Node) -> None:
    """The embedded default has no broker to watch: watch the delivery pass's statements
    on the route store's own engine instead (the parent kills on these lines, inside the
    transaction that moves outbox entries into inboxes or right at its commit)."""

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = " ".join(statement.split()[:3]).upper()
        if head.startswith("INSERT INTO INBOX"):
            emit("INBOX")
        elif head == "UPDATE OUTBOX SET":
            emit("MARKED")

    event.listen(node.store.engine, "before_cursor_execute", before)


def deliver(node: Node) -> bool | None:
    """One delivery pass; any failure is reported and survived, as `Worker.run` does.
    True when the pass moved or relayed anything, False when idle, None when it failed."""
    try:
        moved = node.worker.run_once()
    except Exception as exc:  # the loop survives everything (issue 8 item 4)
        emit(f"WORKER-FAULT {fault_code(exc)}")
        return None
    return moved > 0 or node.worker.relayed > 0


def reconcile(node: Node) -> bool:
    """One reconciliation pass; True when it republished or emitted anything."""
    try:
        report = node.worker.reconcile()
    except Exception as exc:  # as the scheduled job: reported, retried
        emit(f"WORKER-FAULT {fault_code(exc)}")
        return False
    if report.republished or report.arrivals:
        emit(f"RECONCILED {report.republished} {report.arrivals}")
        return True
    return False


def take_some(node: Node, agencies: Sequence[str], per_agency: int) -> None:
    """The recipients `agencies` take up to `per_agency` documents each from their inbox."""
    for agency in agencies:
        try:
            items = node.exchange.inbox(agency, kind=Kind.EDOC, limit=per_agency)
        except Exception as exc:
            emit(f"WORKER-FAULT {fault_code(exc)}")
            return
        for item in items:
            try:
                node.exchange.take(agency, item.delivery_id)
            except Exception as exc:  # the client is told, and may retry
                emit(f"TAKE-FAULT {item.delivery_id} {fault_code(exc)}")
                continue
            emit(f"TAKEN {item.delivery_id}")


def settled(node: Node) -> bool:
    """Nothing left to move: no unsent outbox entry, no ready message for any agency the
    node consumes (messages another node holds unacked are that node's to finish), and
    no taken copy without its status 01."""
    try:
        with node.store.transaction() as tx:
            if tx.pending_outbox():
                return False
            far = node.exchange.clock.now() + timedelta(days=1)
            if tx.delivered_without_arrival(far, 1):
                return False
        if node.worker.direct:
            return True
        return all(node.broker.depth(a) == 0 for a in node.worker.agencies())
    except Exception as exc:
        emit(f"WORKER-FAULT {fault_code(exc)}")
        return False


def submit(node: Node, path: Path, *, die_before_answer: bool = False) -> bool | None:
    """Submit one file and answer it: True when accepted, False when refused (the sender's
    fault: never retried), None on the node's fault (the client tries again later)."""
    raw = path.read_bytes()
    try:
        receipt = node.exchange.submit(raw)
    except SenderFault as exc:
        emit(f"REFUSED {path.name} {exc.code.id}")
        return False
    except Exception as exc:  # e.g. node.store_conflict when another node
        # wrote the same copy first, the database or the disk away: the retry answers.
        emit(f"FAULT {path.name} {fault_code(exc)}")
        return None
    if die_before_answer:
        # The worst moment for a client: the package is committed, the answer never
        # leaves. The retry must get the same receipt, marked duplicate.
        os.kill(os.getpid(), signal.SIGKILL)
    ids = ",".join(d.delivery_id for d in receipt.deliveries)
    emit(f"ACCEPTED {path.name} {ids}" + (" duplicate" if receipt.duplicate else ""))
    return True


def build(args: argparse.Namespace) -> Node:
    delivery = DeliverySettings(reconcile_after_seconds=args.reconcile_after)
    settings = Settings(data_dir=args.data_dir, database_url=args.database_url,
                        broker_url=args.broker_url, delivery=delivery,
                        trust=TrustSettings(anchors_dir=args.anchors))
    if not args.broker_url:  # the embedded default, as `axis serve` builds it
        node = build_node(settings, new_id=lambda: str(uuid.uuid4()))
        if not node.worker.direct:
            raise SystemExit("the embedded default must deliver straight from the outbox")
        report_direct_delivery(node)
        return node
    broker = ReportingBroker(args.broker_url, prefix=args.prefix, confirm_timeout_s=10.0)
    return build_node(settings, new_id=lambda: str(uuid.uuid4()), broker=broker)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--database-url", default="", help="empty: SQLite under the data dir")
    p.add_argument("--broker-url", default="",
                   help="empty: no broker, the outbox delivered straight into the inboxes")
    p.add_argument("--prefix", default="", help="RabbitMQ name prefix of this test")
    p.add_argument("--anchors", type=Path, required=True)
    p.add_argument("--packages", type=Path, required=True, help="directory of package files")
    p.add_argument("--order", type=Path, required=True, help="file names to submit, a line each")
    p.add_argument("--worker-every", type=int, default=10,
                   help="a delivery pass after every N submission attempts")
    p.add_argument("--wait-go", action="store_true",
                   help="after READY, wait for a line on stdin before submitting")
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--give-up-after", type=float, default=300.0,
                   help="seconds of nothing but node faults before giving up")
    p.add_argument("--sigkill-after-accepts", type=int, default=0,
                   help="SIGKILL itself after committing the Nth accepted package, before "
                        "answering it (0: never)")
    p.add_argument("--take", default="",
                   help="agencies (comma-separated) that take documents after each pass")
    p.add_argument("--take-per-pass", type=int, default=2)
    p.add_argument("--reconcile-after", type=int,
                   default=DeliverySettings().reconcile_after_seconds)
    p.add_argument("--reconcile-each-pass", action="store_true")
    args = p.parse_args(argv)
    takers = [a for a in args.take.split(",") if a]

    node = build(args)
    try:
        reconcile(node)  # at start, as `axis serve` does: what a crash left stranded
        emit("READY")
        if args.wait_go:
            sys.stdin.readline()  # the parent starts every node at once: real races
        pending = deque(n for n in args.order.read_text().split() if n)
        accepted = attempts = 0
        progress = time.monotonic()
        while pending:
            name = pending.popleft()
            outcome = submit(node, args.packages / name,
                             die_before_answer=accepted + 1 == args.sigkill_after_accepts)
            attempts += 1
            if outcome is None:
                pending.append(name)
                if time.monotonic() - progress > args.give_up_after:
                    emit(f"GAVE-UP {name}")
                    return 4
                time.sleep(RETRY_PAUSE_S)
            else:
                accepted += outcome
                progress = time.monotonic()
            if attempts % args.worker_every == 0:
                deliver(node)
                take_some(node, takers, args.take_per_pass)
                if args.reconcile_each_pass:
                    reconcile(node)
        deadline = time.monotonic() + args.drain_timeout
        passes = 0
        while True:
            busy = deliver(node)
            if args.reconcile_each_pass and busy is not None:
                busy = reconcile(node) or busy
            passes += 1
            if busy is False and settled(node):
                break
            if time.monotonic() > deadline:
                emit("TIMEOUT draining")
                return 3
            if not busy:
                # Failed (a service restarting), idle with work still elsewhere (outbox
                # rows another node's relay holds) or a taken copy's 01 not yet due for
                # reconciliation: ask again a little later.
                time.sleep(RETRY_PAUSE_S)
        emit(f"DONE {passes}")
        return 0
    finally:
        node.close()


if __name__ == "__main__":
    sys.exit(main())
