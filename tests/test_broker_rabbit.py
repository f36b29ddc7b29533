"""RabbitMQ-only behaviour of `adapters.amqp.rabbit.RabbitBroker`: what the in-process
broker cannot show (a broker restart, a resource alarm, the declared topology), and the
pika-free pieces of the adapter (confirm bookkeeping, back-off schedule).

The service tests drive the local broker with `rabbitmqctl` (stop_app/start_app, a memory
alarm): they briefly disturb anything else using the same RabbitMQ node."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from service_support import (
    broker_prefix,
    missing_service,
    rabbitmq_lease,
    require_rabbitmq,
    wait_until,
)

from adapters.amqp.confirms import Confirms
from adapters.amqp.rabbit import RabbitBroker
from adapters.amqp.topology import Topology, delay_for_attempt
from axis import errors
from axis.route.broker import BrokerMessage, ReceivedMessage

A, B = "000.00.12.H37", "000.00.34.H37"
BACK_S = 90.0  # start_app on a small machine takes a few seconds; allow a slow one


def _prefix(*, exclusive: bool) -> Iterator[str]:
    url = require_rabbitmq()
    with rabbitmq_lease(exclusive=exclusive):
        name = broker_prefix()
        yield name
        cleaner = RabbitBroker(url, prefix=name)
        wait_until(lambda: answers(cleaner), timeout_s=BACK_S, what="RabbitMQ answers")
        cleaner.delete_topology([A, B])


@pytest.fixture()
def prefix() -> Iterator[str]:
    yield from _prefix(exclusive=False)


@pytest.fixture()
def disruptive_prefix() -> Iterator[str]:
    """For tests that stop RabbitMQ or raise an alarm: other test runs wait meanwhile."""
    yield from _prefix(exclusive=True)


def make(prefix: str, **options: object) -> RabbitBroker:
    options.setdefault("confirm_timeout_s", 10.0)
    return RabbitBroker(require_rabbitmq(), prefix=prefix, **options)  # type: ignore[arg-type]


def rabbitmqctl(*args: str) -> str:
    if shutil.which("rabbitmqctl") is None:
        missing_service("rabbitmqctl is not installed")
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def answers(broker: RabbitBroker) -> bool:
    try:
        broker.depth(A)
    except errors.AxisError:
        return False
    return True


def msg(n: int, agency: str = A, priority: int = 0) -> BrokerMessage:
    return BrokerMessage(f"dlv-{n}", agency, priority, b'{"n": %d}' % n)


def drain(broker: RabbitBroker, agency: str = A) -> list[ReceivedMessage]:
    out: list[ReceivedMessage] = []
    while batch := broker.fetch(agency, max_messages=100):
        out.extend(batch)
    for received in out:
        broker.ack(received)
    return out


@pytest.mark.service
def test_durable_messages_survive_a_broker_restart(disruptive_prefix: str) -> None:
    broker = make(disruptive_prefix)
    broker.ensure_agency(A)
    sent = [msg(n, priority=n % 5) for n in range(200)]
    broker.publish_batch(sent)  # confirmed: persisted by the broker
    [held] = broker.fetch(A)  # owned, not acked, when the broker goes away
    late = msg(200)
    try:
        rabbitmqctl("stop_app")  # closes every connection, stops the listener
        with pytest.raises(errors.AxisError) as down:
            broker.publish_batch([late])
        assert down.value.code is errors.BROKER_UNAVAILABLE
    finally:
        rabbitmqctl("start_app")
    wait_until(lambda: answers(broker), timeout_s=BACK_S, what="RabbitMQ is back")

    with pytest.raises(errors.AxisError) as lost:
        broker.ack(held)  # its channel died with the old connection
    assert lost.value.code is errors.BROKER_UNAVAILABLE
    broker.publish_batch([late])  # the same object reconnected by itself
    got = [r.message.delivery_id for r in drain(broker)]
    assert sorted(got) == sorted(m.delivery_id for m in [*sent, late])  # each exactly once
    assert broker.dead_letters() == []
    broker.close()


@pytest.mark.service
def test_back_off_really_holds_the_message(prefix: str) -> None:
    broker = make(prefix, retry_delays_ms=(1000,))
    broker.ensure_agency(A)
    broker.publish_batch([msg(1)])
    [first] = broker.fetch(A)
    rejected_at = time.monotonic()
    broker.reject(first, retry=True)
    assert broker.fetch(A) == []  # parked in <prefix>.retry.1000ms, not in the queue
    got: list[ReceivedMessage] = []

    def returned() -> bool:
        got.extend(broker.fetch(A))
        return bool(got)

    wait_until(returned, timeout_s=10, what="the retried message returns")
    assert time.monotonic() - rejected_at >= 0.9
    assert got[0].attempt == 2
    broker.ack(got[0])
    broker.close()


@pytest.mark.service
def test_unroutable_message_in_a_batch_is_reported_not_dropped(prefix: str) -> None:
    broker = make(prefix)
    broker.ensure_agency(A)
    with pytest.raises(errors.AxisError) as unroutable:
        broker.publish_batch([msg(1, A), msg(2, B)])
    assert unroutable.value.code is errors.BROKER_NOT_CONFIRMED
    assert "dlv-2" in unroutable.value.detail
    # RabbitMQ has no all-or-nothing batch: the routable part was delivered. The caller
    # republishes the whole batch from its outbox; consumers deduplicate by delivery_id.
    assert [r.message.delivery_id for r in drain(broker)] == ["dlv-1"]
    broker.publish_batch([msg(3, A)])  # the session is still good
    assert broker.depth(A) == 1
    broker.close()


@pytest.mark.service
def test_confirm_timeout_under_a_resource_alarm_is_a_node_fault(
    disruptive_prefix: str,
) -> None:
    broker = make(disruptive_prefix, confirm_timeout_s=1.0)
    broker.ensure_agency(A)
    watermark = rabbitmqctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")
    try:
        # A memory alarm blocks every publishing connection: no confirm will come.
        rabbitmqctl("set_vm_memory_high_watermark", "0.000001")
        started = time.monotonic()
        with pytest.raises(errors.AxisError) as blocked:
            broker.publish_batch([msg(n) for n in range(10)])
        # Which fires first, the confirm wait or pika's blocked-connection timeout, is a
        # race; both say "keep it in the outbox and retry".
        assert blocked.value.code in (errors.BROKER_NOT_CONFIRMED, errors.BROKER_UNAVAILABLE)
        assert time.monotonic() - started < 8
    finally:
        value = watermark.strip()
        rabbitmqctl("set_vm_memory_high_watermark", value if value[:1].isdigit() else "0.4")
    wait_until(lambda: answers(broker), timeout_s=BACK_S, what="the alarm is cleared")
    broker.publish_batch([msg(99)])  # works again, on a fresh connection
    assert msg(99).delivery_id in {r.message.delivery_id for r in drain(broker)}
    broker.close()


def arguments(queue: dict[str, list[list[object]]]) -> dict[object, object]:
    # rabbitmqctl lists queue arguments as [name, AMQP type, value] triples
    return {name: value for name, _type, value in queue["arguments"]}


@pytest.mark.service
def test_declared_topology_is_the_documented_one(prefix: str) -> None:
    broker = make(prefix, retry_delays_ms=(1000, 5000, 5000))
    broker.ensure_agency(A)
    listed = json.loads(rabbitmqctl(
        "list_queues", "name", "durable", "arguments", "--formatter", "json", "--quiet"))
    queues = {q["name"]: q for q in listed if q["name"].startswith(prefix + ".")}
    topo = Topology(prefix, (1000, 5000))
    assert set(queues) == {
        topo.agency_queue(A), topo.retry_queue(1000), topo.retry_queue(5000), topo.dead_queue}
    assert all(q["durable"] for q in queues.values())
    agency = arguments(queues[topo.agency_queue(A)])
    assert agency == {"x-max-priority": 4, "x-queue-type": "classic"}
    retry = arguments(queues[topo.retry_queue(5000)])
    assert retry["x-message-ttl"] == 5000
    assert retry["x-dead-letter-exchange"] == topo.deliveries_exchange

    broker.delete_topology([A])
    listed = json.loads(rabbitmqctl("list_queues", "name", "--formatter", "json", "--quiet"))
    assert not [q for q in listed if q["name"].startswith(prefix + ".")]


@pytest.mark.service
def test_quorum_layout_urgent_and_normal_queues_per_agency(prefix: str) -> None:
    """The cluster layout (docs/deployment.md) on the local broker: two quorum queues per
    agency, urgency by routing key; an urgent copy overtakes 300 normal ones and comes
    back to the urgent queue after a retry's back-off."""
    broker = make(prefix, layout="quorum", retry_delays_ms=(50,))
    try:
        broker.ensure_agency(A)
        listed = json.loads(rabbitmqctl(
            "list_queues", "name", "durable", "arguments", "--formatter", "json", "--quiet"))
        queues = {q["name"]: q for q in listed if q["name"].startswith(prefix + ".agency.")}
        topo = Topology(prefix, (50,), "quorum")
        assert set(queues) == {topo.agency_queue(A), topo.agency_queue(A) + ".urgent"}
        assert all(arguments(q) == {"x-queue-type": "quorum"} and q["durable"]
                   for q in queues.values())
        bindings = json.loads(rabbitmqctl(
            "list_bindings", "source_name", "destination_name", "routing_key",
            "--formatter", "json", "--quiet"))
        assert {(b["destination_name"], b["routing_key"]) for b in bindings
                if b["source_name"] == topo.deliveries_exchange} == {
            (topo.agency_queue(A), A), (topo.agency_queue(A) + ".urgent", A + ".urgent")}

        broker.publish_batch([msg(n) for n in range(300)])
        broker.publish_batch([msg(300, priority=2), msg(301, priority=4)])
        assert broker.depth(A) == 302
        first, second, third = broker.fetch(A, max_messages=3)
        assert [first.message.delivery_id, second.message.delivery_id] == ["dlv-300",
                                                                           "dlv-301"]
        assert first.message.priority == 2 and third.message.priority == 0
        broker.reject(first, retry=True)  # back-off, then back where urgent ones wait
        broker.release(second)
        broker.release(third)
        wait_until(lambda: broker.depth(A) == 302, timeout_s=10, what="the retry is back")
        again = broker.fetch(A, max_messages=2)
        assert {r.message.delivery_id for r in again} == {"dlv-300", "dlv-301"}
        assert {r.attempt for r in again if r.message.delivery_id == "dlv-300"} == {2}
        for r in again:
            broker.ack(r)
        assert len(drain(broker)) == 300 and broker.depth(A) == 0
    finally:
        broker.delete_topology([A])


# --- pika-free pieces, no broker needed --------------------------------------------------

@dataclass
class _Method:
    NAME: str
    delivery_tag: int
    multiple: bool = False


@dataclass
class _Frame:
    method: _Method


def test_confirms_honour_multiple_out_of_order_and_nack() -> None:
    woken: list[bool] = []
    confirms = Confirms(lambda: woken.append(True))
    for n in range(1, 7):
        confirms.published(f"d{n}")
    confirms.on_confirm(_Frame(_Method("Basic.Ack", 5)))  # out of order, single
    confirms.on_confirm(_Frame(_Method("Basic.Ack", 3, multiple=True)))  # 1, 2, 3
    assert sorted(confirms.pending) == [4, 6] and not woken
    confirms.on_confirm(_Frame(_Method("Basic.Nack", 6, multiple=True)))  # 4, 6
    assert confirms.pending == {} and woken == [True]
    assert confirms.take_failures() == (["d4", "d6"], [])
    assert confirms.take_failures() == ([], [])
    confirms.published("d7")  # numbering goes on across batches on one channel
    assert list(confirms.pending) == [7]


def test_back_off_schedule_repeats_its_last_delay() -> None:
    delays = (1000, 5000, 30000)
    assert [delay_for_attempt(delays, n) for n in (1, 2, 3, 4, 9)] == [
        1000, 5000, 30000, 30000, 30000]
