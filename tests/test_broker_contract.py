"""The broker port's contract (`axis/route/broker.py`), one body for every implementation:
the in-process broker and the real RabbitMQ. The RabbitMQ cases need the service: skipped
without it on a laptop, failed in CI (`tests/service_support.py`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from service_support import broker_prefix, rabbitmq_lease, require_rabbitmq, wait_until

from adapters.amqp.memory import InProcessBroker
from adapters.amqp.rabbit import RabbitBroker
from axis import errors
from axis.edxml.model import Priority
from axis.route.broker import BrokerMessage, BrokerPort, ReceivedMessage

A, B, NEVER_ENSURED = "000.00.12.H37", "000.00.34.H37", "000.00.99.H37"
MAX_ATTEMPTS = 3
RETRY_DELAYS_MS = (50, 50, 50)  # tiny: the tests wait for the real back-off by polling
WAIT_S = 10.0


@dataclass
class Backend:
    broker: BrokerPort
    # Simulates a consumer that dies holding fetched, unsettled messages; returns the
    # broker a new consumer goes on with.
    lose_consumer: Callable[[BrokerPort], BrokerPort]


def _memory(_: ExitStack) -> Backend:
    broker = InProcessBroker(MAX_ATTEMPTS, retry_delays_ms=RETRY_DELAYS_MS)

    def lose(_: BrokerPort) -> BrokerPort:
        broker.requeue_unacked()
        return broker

    return Backend(broker, lose)


def _rabbit(cleanup: ExitStack, layout: str = "classic") -> Backend:
    url = require_rabbitmq()
    cleanup.enter_context(rabbitmq_lease())  # keeps other runs' restart tests out meanwhile
    prefix = broker_prefix()  # no collision with other runs or tests
    made: list[RabbitBroker] = []

    def make() -> RabbitBroker:
        broker = RabbitBroker(url, prefix=prefix, max_attempts=MAX_ATTEMPTS,
                              retry_delays_ms=RETRY_DELAYS_MS, confirm_timeout_s=WAIT_S,
                              layout=layout)
        made.append(broker)
        return broker

    def lose(broker: BrokerPort) -> BrokerPort:
        broker.close()  # the connection goes without acking: RabbitMQ requeues
        return make()

    def teardown() -> None:
        for broker in made:
            broker.close()
        make().delete_topology([A, B, NEVER_ENSURED])

    cleanup.callback(teardown)  # runs before the lease is released
    return Backend(make(), lose)


# rabbit-quorum: the cluster layout (urgent and normal quorum queues per agency,
# docs/deployment.md) must keep the same contract on the local broker.
@pytest.fixture(params=["memory", pytest.param("rabbit", marks=pytest.mark.service),
                        pytest.param("rabbit-quorum", marks=pytest.mark.service)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with ExitStack() as cleanup:
        if request.param == "memory":
            yield _memory(cleanup)
        else:
            yield _rabbit(cleanup, "quorum" if request.param == "rabbit-quorum" else "classic")


@pytest.fixture()
def broker(backend: Backend) -> BrokerPort:
    backend.broker.ensure_agency(A)
    backend.broker.ensure_agency(B)
    return backend.broker


def msg(n: int, agency: str = A, priority: int = Priority.NORMAL) -> BrokerMessage:
    body = json.dumps({"package": f"sha256:{n:064x}", "recipient": agency}).encode()
    return BrokerMessage(f"dlv-{n}-{agency}", agency, int(priority), body, (("n", str(n)),))


def fetch_eventually(broker: BrokerPort, agency: str = A) -> ReceivedMessage:
    got: list[ReceivedMessage] = []

    def arrived() -> bool:
        got.extend(broker.fetch(agency))
        return bool(got)

    wait_until(arrived, timeout_s=WAIT_S, what=f"a message for {agency} arrives")
    return got[0]


def drain(broker: BrokerPort, agency: str = A) -> list[ReceivedMessage]:
    out: list[ReceivedMessage] = []
    while batch := broker.fetch(agency, max_messages=200):
        out.extend(batch)
    for received in out:
        broker.ack(received)
    return out


def code_of(exc: pytest.ExceptionInfo[errors.AxisError]) -> str:
    return exc.value.code.id


# --- publish, fetch, ack ----------------------------------------------------------------

def test_round_trip(broker: BrokerPort) -> None:
    sent = msg(1, priority=Priority.URGENT)
    broker.publish_batch([sent])
    assert broker.depth(A) == 1
    [got] = broker.fetch(A, max_messages=10)
    assert got.message == sent  # body, priority, own headers: all unchanged
    assert (got.attempt, got.redelivered) == (1, False)
    assert broker.depth(A) == 0  # fetched and unacked is not waiting
    broker.ack(got)
    assert broker.fetch(A) == []


def test_empty_batch_is_a_no_op(broker: BrokerPort) -> None:
    broker.publish_batch([])
    assert broker.depth(A) == 0


def test_settling_twice_is_a_programming_error(broker: BrokerPort) -> None:
    broker.publish_batch([msg(1)])
    [got] = broker.fetch(A)
    broker.ack(got)
    with pytest.raises(ValueError, match="already settled"):
        broker.ack(got)
    with pytest.raises(ValueError, match="already settled"):
        broker.reject(got, retry=True)


def test_malformed_messages_are_refused_before_publishing(broker: BrokerPort) -> None:
    with pytest.raises(ValueError, match="priority"):
        broker.publish_batch([msg(1), msg(2, priority=5)])
    reserved = BrokerMessage("dlv-r", A, 0, b"{}", (("axis-attempt", "9"),))
    with pytest.raises(ValueError, match="reserved"):
        broker.publish_batch([reserved])
    assert broker.depth(A) == 0


# --- order: Art. 7.2 --------------------------------------------------------------------

def test_priority_overtakes_the_backlog(broker: BrokerPort) -> None:
    broker.publish_batch([msg(n) for n in range(50)])
    broker.publish_batch([msg(50, priority=Priority.FLASH)])
    [first] = broker.fetch(A)
    assert first.message.delivery_id == msg(50).delivery_id


def test_urgent_document_overtakes_500_normal_ones(broker: BrokerPort) -> None:
    broker.publish_batch([msg(n) for n in range(500)])
    broker.publish_batch([msg(500, priority=Priority.URGENT)])
    [first] = broker.fetch(A)
    assert first.message.priority == Priority.URGENT
    assert first.message.delivery_id == msg(500).delivery_id


def test_fifo_within_equal_priority(broker: BrokerPort) -> None:
    sent = [msg(n, priority=(Priority.VERY_URGENT if n % 3 == 0 else Priority.NORMAL))
            for n in range(30)]
    broker.publish_batch(sent)
    got = [r.message for r in drain(broker)]
    expected = sorted(sent, key=lambda m: -m.priority)  # stable: publication order kept
    assert got == expected


# --- ownership and redelivery -----------------------------------------------------------

def test_unacked_message_is_redelivered_after_consumer_loss(backend: Backend) -> None:
    broker = backend.broker
    broker.ensure_agency(A)
    broker.publish_batch([msg(1), msg(2)])
    [held] = broker.fetch(A)
    survivor = backend.lose_consumer(broker)
    again = fetch_eventually(survivor)
    assert again.message == held.message
    assert again.redelivered is True
    assert again.attempt == 1  # a lost consumer is not a failed attempt
    with pytest.raises(errors.AxisError) as lost:
        broker.ack(held)  # its handle died with the consumer
    assert code_of(lost) == errors.BROKER_UNAVAILABLE.id
    survivor.ack(again)
    assert [r.message.delivery_id for r in drain(survivor)] == [msg(2).delivery_id]


def test_reject_with_retry_comes_back_with_the_next_attempt(broker: BrokerPort) -> None:
    broker.publish_batch([msg(1, priority=Priority.FLASH)])
    [first] = broker.fetch(A)
    broker.reject(first, retry=True)
    second = fetch_eventually(broker)
    assert second.message == first.message  # priority survives the retry path
    assert (second.attempt, second.redelivered) == (2, False)
    broker.ack(second)
    assert broker.dead_letters() == []


def test_release_gives_a_batch_back_at_once_without_an_attempt(broker: BrokerPort) -> None:
    """What a consumer whose database failed mid-batch does with the unprocessed rest:
    every message is ready again immediately, in its order, with the same attempt."""
    broker.publish_batch([msg(n) for n in range(5)])
    batch = broker.fetch(A, max_messages=5)
    assert len(batch) == 5
    broker.ack(batch[0])
    for received in batch[1:]:
        broker.release(received)
    again = broker.fetch(A, max_messages=10)
    assert [r.message.delivery_id for r in again] == [f"dlv-{n}-{A}" for n in range(1, 5)]
    assert all(r.attempt == 1 and r.redelivered for r in again)
    for received in again:
        broker.ack(received)
    assert broker.dead_letters() == []
    with pytest.raises(ValueError):
        broker.release(again[0])  # settled already


def test_retries_are_bounded_then_dead_lettered(broker: BrokerPort) -> None:
    sent = msg(1)
    broker.publish_batch([sent])
    attempts = []
    for _ in range(MAX_ATTEMPTS):
        received = fetch_eventually(broker)
        attempts.append(received.attempt)
        broker.reject(received, retry=True)
    assert attempts == [1, 2, 3]
    [dead] = broker.dead_letters()
    assert (dead.message.delivery_id, dead.message.body) == (sent.delivery_id, sent.body)
    assert dead.attempt == MAX_ATTEMPTS
    assert dict(dead.message.headers)["axis-dead-reason"] == "gave up after 3 attempts"
    assert broker.fetch(A) == []
    assert broker.depth(A) == 0
    broker.ack(dead)
    assert broker.dead_letters() == []


def test_reject_without_retry_dead_letters_at_once(broker: BrokerPort) -> None:
    broker.publish_batch([msg(1), msg(2)])
    [first] = broker.fetch(A)
    broker.reject(first, retry=False)
    [dead] = broker.dead_letters(max_messages=10)
    assert dead.message.delivery_id == first.message.delivery_id
    assert dead.attempt == 1
    assert dict(dead.message.headers)["axis-dead-reason"] == "rejected at attempt 1"
    assert dict(dead.message.headers)["n"] == "1"
    broker.ack(dead)
    assert [r.message.delivery_id for r in drain(broker)] == [msg(2).delivery_id]


# --- depth, routing, isolation, volume --------------------------------------------------

def test_depth_counts_what_is_waiting(broker: BrokerPort) -> None:
    broker.publish_batch([msg(n) for n in range(5)])
    assert broker.depth(A) == 5
    fetched = broker.fetch(A, max_messages=2)
    assert broker.depth(A) == 3
    for received in fetched:
        broker.ack(received)
    assert broker.depth(A) == 3
    assert broker.depth(NEVER_ENSURED) == 0


def test_publishing_needs_the_agency_declared(broker: BrokerPort) -> None:
    with pytest.raises(errors.AxisError) as unroutable:
        broker.publish_batch([msg(1, agency=NEVER_ENSURED)])
    assert code_of(unroutable) == errors.BROKER_NOT_CONFIRMED.id
    assert unroutable.value.fault is errors.Fault.NODE  # the caller keeps its outbox
    assert broker.fetch(NEVER_ENSURED) == []
    broker.ensure_agency(NEVER_ENSURED)
    broker.ensure_agency(NEVER_ENSURED)  # idempotent
    broker.publish_batch([msg(1, agency=NEVER_ENSURED)])
    assert [r.message for r in drain(broker, NEVER_ENSURED)] == [msg(1, agency=NEVER_ENSURED)]


def test_batch_of_1000_is_confirmed_and_delivered_exactly(broker: BrokerPort) -> None:
    sent = [msg(n, priority=n % 5) for n in range(1000)]
    broker.publish_batch(sent)
    assert broker.depth(A) == 1000
    got = [r.message.delivery_id for r in drain(broker)]
    assert len(got) == 1000
    assert set(got) == {m.delivery_id for m in sent}
    assert broker.depth(A) == 0


def test_agencies_are_isolated(broker: BrokerPort) -> None:
    broker.publish_batch([msg(1, A), msg(2, B), msg(3, A, Priority.FLASH)])
    assert (broker.depth(A), broker.depth(B)) == (2, 1)
    assert [r.message.agency_id for r in drain(broker, A)] == [A, A]
    assert broker.depth(B) == 1
    assert [r.message for r in drain(broker, B)] == [msg(2, B)]
    assert broker.fetch(NEVER_ENSURED) == []


# --- in-process broker only -------------------------------------------------------------

def test_memory_back_off_follows_the_injected_clock() -> None:
    now = [100.0]
    broker = InProcessBroker(3, retry_delays_ms=(1000, 5000), clock=lambda: now[0])
    broker.ensure_agency(A)
    broker.publish_batch([msg(1)])
    broker.reject(broker.fetch(A)[0], retry=True)
    now[0] += 0.999
    assert broker.fetch(A) == []
    assert broker.depth(A) == 0  # in back-off, not waiting
    now[0] += 0.001
    [second] = broker.fetch(A)
    broker.reject(second, retry=True)
    now[0] += 4.9
    assert broker.fetch(A) == []
    now[0] += 0.1
    assert broker.fetch(A)[0].attempt == 3


def test_memory_broker_is_thread_safe() -> None:
    broker = InProcessBroker()
    broker.ensure_agency(A)
    seen: list[str] = []
    done = threading.Event()

    def publish(start: int) -> None:
        for n in range(start, start + 500, 50):
            broker.publish_batch([msg(k) for k in range(n, n + 50)])

    def consume() -> None:
        while not done.is_set() or broker.depth(A):
            for received in broker.fetch(A, max_messages=7):
                seen.append(received.message.delivery_id)
                broker.ack(received)

    consumers = [threading.Thread(target=consume) for _ in range(3)]
    publishers = [threading.Thread(target=publish, args=(k * 500,)) for k in range(4)]
    for thread in consumers + publishers:
        thread.start()
    for thread in publishers:
        thread.join()
    done.set()
    for thread in consumers:
        thread.join()
    assert sorted(seen) == sorted(msg(n).delivery_id for n in range(2000))


# --- consuming: subscribe, receive, ack_many (the worker's way, issue 9) -------------------

def receive_n(broker: BrokerPort, n: int, batch: int = 500, *,
              ack: bool = False) -> list[ReceivedMessage]:
    """Receive until `n` messages came (bounded by WAIT_S), in batches of `batch`; with
    `ack`, each batch is acked as it comes (more than the prefetch needs it)."""
    got: list[ReceivedMessage] = []

    def more() -> bool:
        batch_got = broker.receive(min(batch, n - len(got)), 0.2)
        if ack:
            broker.ack_many(batch_got)
        got.extend(batch_got)
        return len(got) >= n

    wait_until(more, timeout_s=WAIT_S, what=f"{n} messages delivered to the subscription")
    return got


def test_urgent_message_leads_the_first_batch_over_2000_normal_ones(
    broker: BrokerPort,
) -> None:
    """Art. 7.2 on the consuming path: 2,000 normal copies wait, then one urgent one; the
    consumer's first batch starts with the urgent copy."""
    for start in range(0, 2000, 500):
        broker.publish_batch([msg(n) for n in range(start, start + 500)])
    broker.publish_batch([msg(2000, priority=Priority.URGENT)])
    broker.subscribe([A])
    first = broker.receive(500, WAIT_S)
    assert first and first[0].message.delivery_id == msg(2000).delivery_id
    broker.ack_many(first)
    rest = receive_n(broker, 2001 - len(first), ack=True)
    assert sorted(r.message.delivery_id for r in first + rest) == sorted(
        msg(n).delivery_id for n in range(2001))


def test_urgent_published_during_a_backlog_overtakes_what_waits(broker: BrokerPort) -> None:
    """An urgent copy published while the consumer works through a backlog overtakes what
    still waits in the queue: with 200 in flight (the prefetch) and 50 of them received,
    100 normal copies wait in the queue when it is published."""
    broker.publish_batch([msg(n) for n in range(300)])
    broker.subscribe([A])
    first = receive_n(broker, 50, batch=50)
    broker.publish_batch([msg(300, priority=Priority.FLASH)])
    broker.ack_many(first)
    rest = receive_n(broker, 251, ack=True)
    ids = [r.message.delivery_id for r in rest]
    urgent_at = ids.index(msg(300).delivery_id)
    assert len(rest) - urgent_at - 1 >= 100  # the queued backlog came after it


def test_ack_many_settles_a_batch_and_nothing_else(backend: Backend) -> None:
    """A batch acked together is gone for good; what was received and not acked comes
    back after consumer loss (multiple=True never settles more than the batch)."""
    broker = backend.broker
    broker.ensure_agency(A)
    broker.publish_batch([msg(n, priority=Priority.URGENT if n % 2 else Priority.NORMAL)
                          for n in range(20)])
    broker.subscribe([A])
    got = receive_n(broker, 20)
    # Urgent first, then normal: settle the normal half only (not a prefix of the tags).
    assert [r.message.priority for r in got] == [Priority.URGENT] * 10 + [Priority.NORMAL] * 10
    broker.ack_many(got[10:])
    survivor = backend.lose_consumer(broker)
    survivor.subscribe([A])
    again = receive_n(survivor, 10)
    assert sorted(r.message.delivery_id for r in again) == sorted(
        r.message.delivery_id for r in got[:10])
    survivor.ack_many(again)
    assert survivor.receive(10, 0.2) == []
    assert survivor.depth(A) == 0


def test_subscription_follows_the_agency_list(broker: BrokerPort) -> None:
    """A newly listed agency is consumed (its queue declared if needed); a dropped one is
    no longer: its messages wait in its queue."""
    broker.subscribe([A])
    broker.publish_batch([msg(1, B)])
    assert broker.receive(10, 0.2) == []
    broker.subscribe([A, B])
    [got] = receive_n(broker, 1)
    assert got.message == msg(1, B)
    broker.ack_many([got])
    broker.subscribe([A])
    broker.publish_batch([msg(2, B)])
    assert broker.receive(10, 0.3) == []
    wait_until(lambda: broker.depth(B) == 1, timeout_s=WAIT_S, what="B's copy waits")


def test_interrupt_ends_a_waiting_receive(broker: BrokerPort) -> None:
    broker.subscribe([A])
    waiting = threading.Thread(target=broker.receive, args=(10, 60.0), daemon=True)
    waiting.start()
    broker.interrupt()
    waiting.join(timeout=WAIT_S)
    assert not waiting.is_alive()


def test_receive_returns_as_soon_as_a_message_is_delivered(broker: BrokerPort) -> None:
    broker.subscribe([A])
    got: list[ReceivedMessage] = []
    waiting = threading.Thread(target=lambda: got.extend(broker.receive(10, 60.0)),
                               daemon=True)
    waiting.start()
    broker_publisher = broker  # same object: publishing from another thread is serialised
    broker_publisher.publish_batch([msg(7)])
    waiting.join(timeout=WAIT_S)
    assert not waiting.is_alive()
    assert [r.message for r in got] == [msg(7)]
    broker.ack_many(got)
