"""The hand-over by consumers (issue 9): what the broker delivers is moved into inboxes in
batches, one transaction per batch, acknowledged only after the commit; urgent copies are
moved before a backlog of normal ones (Art. 7.2); a registry change is followed by the
subscription. Real RabbitMQ (and the in-process broker where the guarantee is the port's),
SQLite and PostgreSQL. The failure case (a database failure mid-batch gives the whole
batch back) lives in test_reconcile.py, on every backend.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest
from exchange_support import NOI_VU, UBND, TestNode, seed_agency_ids, start_node
from service_support import broker_prefix, rabbitmq_lease, require_rabbitmq, wait_until
from store_support import database_url

from adapters.amqp.memory import InProcessBroker
from adapters.amqp.rabbit import RabbitBroker
from axis.edxml.model import Priority
from axis.registry.model import DeliveryMode
from axis.route.broker import BrokerPort, ReceivedMessage
from axis.route.model import DeliveryState

WAIT_S = 10.0
BACKENDS = [
    pytest.param(("sqlite", "memory"), id="sqlite-memory"),
    pytest.param(("postgresql", "rabbit"), id="postgresql-rabbit", marks=pytest.mark.service),
    pytest.param(("sqlite", "rabbit"), id="sqlite-rabbit", marks=pytest.mark.service),
    pytest.param(("postgresql", "rabbit-quorum"), id="postgresql-rabbit-quorum",
                 marks=pytest.mark.service),
]


class AckWitness:
    """Wraps a real broker's `ack_many` (a subclass of the adapter under test): at each
    ack it reads, in a transaction of its own, the state of every acked delivery. So the
    test sees what another process would see at the instant of the ack."""

    seen: list[dict[str, DeliveryState | None]]
    read_states: object

    def record(self, received: Sequence[ReceivedMessage]) -> None:
        read = self.read_states
        assert callable(read)
        self.seen.append(read([r.message.delivery_id for r in received]))


class WitnessRabbit(RabbitBroker, AckWitness):
    def ack_many(self, received: Sequence[ReceivedMessage]) -> None:
        self.record(received)
        super().ack_many(received)


class WitnessMemory(InProcessBroker, AckWitness):
    def ack_many(self, received: Sequence[ReceivedMessage]) -> None:
        self.record(received)
        super().ack_many(received)


@pytest.fixture(params=BACKENDS)
def ht(request: pytest.FixtureRequest, tmp_path: Path,
       pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    db_backend, broker_kind = request.param
    with ExitStack() as stack:
        url = stack.enter_context(database_url(db_backend, tmp_path)) \
            if db_backend == "postgresql" else ""
        broker: WitnessRabbit | WitnessMemory
        if broker_kind.startswith("rabbit"):
            amqp = require_rabbitmq()
            stack.enter_context(rabbitmq_lease())
            broker = WitnessRabbit(amqp, prefix=broker_prefix(),
                                   layout="quorum" if broker_kind.endswith("quorum")
                                   else "classic")
            stack.callback(broker.delete_topology, seed_agency_ids())
        else:
            broker = WitnessMemory()
        node = start_node(tmp_path, *pki_dirs, broker=broker, database_url=url)
        stack.callback(node.node.close)
        broker.seen = []

        def read_states(ids: list[str]) -> dict[str, DeliveryState | None]:
            with node.node.store.transaction() as tx:
                return {i: (d.state if (d := tx.get_delivery(i)) else None) for i in ids}

        broker.read_states = read_states
        yield node


def submit(t: TestNode, n: int, first: int = 1, *,
           priority: Priority = Priority.NORMAL) -> list[str]:
    return [t.node.exchange.submit(t.document(UBND, (NOI_VU,), k, priority=priority)[1])
            .deliveries[0].delivery_id for k in range(first, first + n)]


def receive_n(broker: BrokerPort, n: int, batch: int) -> list[ReceivedMessage]:
    got: list[ReceivedMessage] = []
    wait_until(lambda: len(got.__iadd__(broker.receive(batch, 0.2))) >= n,
               timeout_s=WAIT_S, what=f"{n} messages delivered to the consumer")
    return got


def witness(t: TestNode) -> AckWitness:
    broker = t.node.broker
    assert isinstance(broker, AckWitness)
    return broker


def test_a_batch_is_committed_then_acked(ht: TestNode) -> None:
    ids = submit(ht, 12)
    moved = ht.node.worker.run_once()
    assert moved == 12
    seen = witness(ht).seen
    # Every ack came after the commit that put its copies into the inbox, and the copies
    # went in batches (group commit), not one transaction per message.
    assert sorted(i for batch in seen for i in batch) == sorted(ids)
    assert all(state is DeliveryState.AVAILABLE for b in seen for state in b.values())
    assert len(seen) < len(ids)
    assert ht.node.broker.depth(NOI_VU) == 0
    # Acked, not merely received: a new consumer gets nothing back.
    ht.node.broker.close()
    ht.node.broker.subscribe([NOI_VU])
    assert ht.node.broker.receive(100, 0.5) == []


def test_urgent_copies_are_moved_before_the_normal_backlog(ht: TestNode) -> None:
    """Art. 7.2: normal copies wait in the agency's queue, then an urgent one comes; the
    consumer's first batch puts the urgent copy into the inbox."""
    normal = submit(ht, 30)
    handover, broker = ht.node.worker.handover, ht.node.broker
    assert len(handover.relay_once(100)) == 30
    [urgent] = submit(ht, 1, 31, priority=Priority.URGENT)
    assert len(handover.relay_once(100)) == 1
    broker.subscribe([NOI_VU])
    if isinstance(broker, RabbitBroker):  # the in-process broker has nothing in flight
        wait_until(lambda: broker.depth(NOI_VU) == 0, timeout_s=WAIT_S,
                   what="the consumer holds everything (prefetch)")
    first = broker.receive(10, WAIT_S)
    assert len(first) == 10
    handover.move(first)
    inbox = {i.delivery_id for i in ht.node.exchange.inbox(NOI_VU, limit=100)}
    assert urgent in inbox
    assert len(inbox) == 10
    ht.node.worker.run_once()
    assert {i.delivery_id for i in ht.node.exchange.inbox(NOI_VU, limit=100)} == {
        urgent, *normal}


def test_an_agency_switched_to_consumed_is_picked_up(ht: TestNode) -> None:
    """The subscription follows the registry: an agency that consumed its own queue
    (amqp mode) switches to pull; the running worker consumes its queue from then on."""
    registry = ht.node.registry
    agency = registry.resolve(NOI_VU)
    registry.update(dataclasses.replace(agency, delivery_mode=DeliveryMode.AMQP),
                    actor="test", reason="agency consumes its own queue")
    [waiting] = submit(ht, 1)
    stop = threading.Event()
    loop = threading.Thread(target=ht.node.worker.run, args=(stop,), daemon=True)
    loop.start()
    try:
        wait_until(lambda: ht.node.broker.depth(NOI_VU) == 1, timeout_s=WAIT_S,
                   what="the copy waits in the agency's own queue")
        assert ht.node.exchange.inbox(NOI_VU) == []
        registry.update(dataclasses.replace(agency, delivery_mode=DeliveryMode.PULL),
                        actor="test", reason="back to pull")
        ht.node.worker.wake.set()
        wait_until(lambda: [i.delivery_id for i in ht.node.exchange.inbox(NOI_VU)]
                   == [waiting], timeout_s=WAIT_S, what="the worker consumes the queue")
        [later] = submit(ht, 1, 2)
        wait_until(lambda: later in {i.delivery_id for i in ht.node.exchange.inbox(NOI_VU)},
                   timeout_s=WAIT_S, what="a new submission reaches the inbox")
    finally:
        stop.set()
        ht.node.worker.wake.set()
        loop.join(timeout=WAIT_S)
    assert not loop.is_alive()
    # The stopped worker gave back what it held: nothing is left unsettled on the
    # connection (a new consumer finds the queue's copies, if any, ready).
    assert ht.node.broker.depth(NOI_VU) == 0
