"""A node process for the durability tests (tests/test_durability.py), standing in for the
REST edge that does not exist yet: `python tests/durability_node.py ARGS`.

It builds a real node (PostgreSQL, RabbitMQ under a test prefix, the real trust stage),
submits pre-signed package files in the order given, and answers on stdout, one flushed
line per event, so that the parent can kill it at any moment and know exactly what a
client would have been told:

    READY                                   node built (with --wait-go: waits for a line)
    ACCEPTED <file> <delivery_id,...> [duplicate]
    REFUSED <file> <code>                   sender's fault: never retried
    FAULT <file> <code>                     node's fault: retried here, as a client would
    PUBLISHED <n>                           publish_batch returned (confirmed), not marked
    FETCHED <delivery_id> <redelivered 0|1> a broker message about to be consumed
    WORKER-FAULT <code>                     a delivery pass failed (broker or database away)
    DONE <passes>                           outbox empty, every consumed queue empty

With --sigkill-after-accepts N it kills itself with SIGKILL right after the Nth
submission committed and before its answer is written: a moment no outside observer can
hit on purpose, and the one where a client's retry must get the same receipt again.

Between submissions it runs delivery passes (`Worker.run_once`), so relay and consumption
happen while it works and a kill lands in any of them. Nobody calls `take`, so the node
emits no status packages of its own: only submissions and their deliveries move.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.amqp.rabbit import RabbitBroker
from adapters.node import Node, build_node
from axis.errors import AxisError, SenderFault
from axis.route.broker import BrokerMessage, ReceivedMessage
from axis.settings import Settings, TrustSettings

RETRY_PAUSE_S = 0.2  # pace of retries after a node fault (not a synchronisation)
MAX_SUBMIT_ATTEMPTS = 50


def emit(line: str) -> None:
    # Flushed at once: the parent decides when to kill from what it has read, and a line
    # still in our buffer would be an answer the client never got.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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


def deliver(node: Node) -> bool | None:
    """One delivery pass; a failure is reported and survived, as `Worker.run` does.
    True when the pass moved or relayed anything, False when idle, None when it failed."""
    try:
        moved = node.worker.run_once()
    except AxisError as exc:
        emit(f"WORKER-FAULT {exc.code.id}")
        return None
    return moved > 0 or node.worker.relayed > 0


def settled(node: Node) -> bool:
    """Nothing left to move: no unsent outbox entry, no ready message for any agency the
    node consumes. (Messages another node holds unacked are that node's to finish.)"""
    try:
        with node.store.transaction() as tx:
            if tx.pending_outbox():
                return False
        return all(node.broker.depth(a) == 0 for a in node.worker.agencies())
    except AxisError as exc:
        emit(f"WORKER-FAULT {exc.code.id}")
        return False


def submit(node: Node, path: Path, *, die_before_answer: bool = False) -> bool:
    """Submit one file and answer it; True when it was accepted."""
    raw = path.read_bytes()
    for _ in range(MAX_SUBMIT_ATTEMPTS):
        try:
            receipt = node.exchange.submit(raw)
        except SenderFault as exc:
            emit(f"REFUSED {path.name} {exc.code.id}")
            return False
        except AxisError as exc:
            # The node's fault (e.g. node.store_conflict when another node wrote the same
            # copy first): the client retries, and the retry answers "duplicate".
            emit(f"FAULT {path.name} {exc.code.id}")
            time.sleep(RETRY_PAUSE_S)
            continue
        if die_before_answer:
            # The worst moment for a client: the package is committed, the answer never
            # leaves. The retry must get the same receipt, marked duplicate.
            os.kill(os.getpid(), signal.SIGKILL)
        ids = ",".join(d.delivery_id for d in receipt.deliveries)
        emit(f"ACCEPTED {path.name} {ids}" + (" duplicate" if receipt.duplicate else ""))
        return True
    raise SystemExit(f"{path.name}: still failing after {MAX_SUBMIT_ATTEMPTS} attempts")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--broker-url", required=True)
    p.add_argument("--prefix", required=True, help="RabbitMQ name prefix of this test")
    p.add_argument("--anchors", type=Path, required=True)
    p.add_argument("--packages", type=Path, required=True, help="directory of package files")
    p.add_argument("--order", type=Path, required=True, help="file names to submit, a line each")
    p.add_argument("--worker-every", type=int, default=10,
                   help="a delivery pass after every N submissions")
    p.add_argument("--wait-go", action="store_true",
                   help="after READY, wait for a line on stdin before submitting")
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--sigkill-after-accepts", type=int, default=0,
                   help="SIGKILL itself after committing the Nth accepted package, before "
                        "answering it (0: never)")
    args = p.parse_args(argv)

    settings = Settings(data_dir=args.data_dir, database_url=args.database_url,
                        broker_url=args.broker_url,
                        trust=TrustSettings(anchors_dir=args.anchors))
    broker = ReportingBroker(args.broker_url, prefix=args.prefix, confirm_timeout_s=10.0)
    node = build_node(settings, new_id=lambda: str(uuid.uuid4()), broker=broker)
    try:
        emit("READY")
        if args.wait_go:
            sys.stdin.readline()  # the parent starts every node at once: real races
        names = [n for n in args.order.read_text().split() if n]
        accepted = 0
        for i, name in enumerate(names, 1):
            accepted += submit(node, args.packages / name,
                               die_before_answer=accepted + 1 == args.sigkill_after_accepts)
            if i % args.worker_every == 0:
                deliver(node)
        deadline = time.monotonic() + args.drain_timeout
        passes = 0
        while True:
            busy = deliver(node)
            passes += 1
            if busy is False and settled(node):
                break
            if time.monotonic() > deadline:
                emit("TIMEOUT draining")
                return 3
            if not busy:
                # Failed (the broker restarting) or idle with work still elsewhere (outbox
                # rows another node's relay holds): ask again a little later.
                time.sleep(RETRY_PAUSE_S)
        emit(f"DONE {passes}")
        return 0
    finally:
        node.close()


if __name__ == "__main__":
    sys.exit(main())
