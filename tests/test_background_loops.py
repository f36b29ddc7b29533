"""Background loops survive what they do not expect, and say so (issue 8, item 4).

The class of defect: a loop that catches only the errors it foresaw dies on the first
other exception, silently, while the HTTP edge keeps answering. Here the delivery loop and
the push loop run on real nodes with a fault injected where a real one would come from (a
broker adapter raising something that is not an AxisError, a registry read failing), and
must go on delivering, record each failure with an error id, back off, and beat.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from admin_support import start
from exchange_support import NOI_VU, T0, UBND, TestNode, start_node

from adapters.amqp.memory import InProcessBroker
from axis.clock import FixedClock
from axis.health import Heartbeats, Liveness, LoopGuard
from axis.registry.model import Agency, AgencyState, Credential
from axis.route.broker import BrokerMessage
from axis.settings import PushSettings


class DefectiveBroker(InProcessBroker):
    """Raises what a defect in a broker adapter would (not an AxisError) `faults` times."""

    def __init__(self) -> None:
        super().__init__()
        self.faults = 0

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        if self.faults > 0:
            self.faults -= 1
            raise RuntimeError("test: a defect in the broker adapter")
        super().publish_batch(messages)


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start_node(tmp_path, *pki_dirs, broker=DefectiveBroker())
    yield node
    node.node.close()


def wait_for(cond: Callable[[], bool], what: str, seconds: float = 20) -> None:
    pause = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if cond():
            return
        pause.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_heartbeats_alive_late_dead() -> None:
    h = Heartbeats()
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    h.register("delivery", kind="loop", expected_every=timedelta(minutes=2), at=T0)
    h.register("push", kind="loop", expected_every=timedelta(minutes=2), at=T0,
               alive=ended.is_alive)
    h.register("job", kind="job", expected_every=timedelta(hours=12), at=T0)
    h.beat("delivery", T0 + timedelta(minutes=1))
    h.failed("job", T0 + timedelta(hours=1), "trust.revocation_unknown: x", "e-1")
    states = {b.name: b for b in h.status(T0 + timedelta(minutes=2))}
    assert states["delivery"].state is Liveness.ALIVE
    assert states["push"].state is Liveness.DEAD  # its thread ended
    job = states["job"]
    assert (job.state, job.failures, job.last_error_id) == (Liveness.ALIVE, 1, "e-1")
    later = {b.name: b.state for b in h.status(T0 + timedelta(minutes=3, seconds=1))}
    assert later["delivery"] is Liveness.LATE  # no pass for more than two minutes
    assert {b.name: b.state for b in h.status(T0 + timedelta(hours=13))}["job"] is (
        Liveness.LATE)  # failing since start: never succeeded within its period


def test_delivery_loop_survives_an_unexpected_exception(
    t: TestNode, caplog: pytest.LogCaptureFixture
) -> None:
    broker = t.node.broker
    assert isinstance(broker, DefectiveBroker)
    t.node.exchange.submit(t.document(UBND, (NOI_VU,), 1)[1])
    broker.faults = 3
    health = Heartbeats()
    ids = iter(f"incident-{n}" for n in range(1, 100))
    guard = LoopGuard("delivery", now=t.clock.now, log=logging.getLogger("axis.delivery"),
                      health=health, min_s=0.01, max_s=0.05, new_id=lambda: next(ids))
    stop = threading.Event()
    loop = threading.Thread(target=t.node.worker.run, args=(stop, guard), daemon=True)
    caplog.set_level(logging.WARNING, logger="axis.delivery")
    loop.start()
    try:
        wait_for(lambda: len(t.node.exchange.inbox(NOI_VU)) == 1, "the copy in the inbox")
        wait_for(lambda: health.status(t.clock.now())[0].last_success is not None,
                 "a heartbeat")
        assert loop.is_alive()
    finally:
        stop.set()
        t.node.worker.wake.set()
        loop.join(10)
    (beat,) = health.status(t.clock.now())
    assert beat.failures == 3 and beat.consecutive_failures == 0
    assert beat.last_error.startswith("node.internal: test: a defect")
    assert beat.last_error_id == "incident-1"  # one incident, one id
    failed = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert len(failed) == 3 and all(r.error_id == "incident-1" for r in failed)  # type: ignore[attr-defined]
    assert failed[0].exc_info is not None  # the traceback is logged
    assert [r.retry_after_s for r in failed] == [0.01, 0.02, 0.04]  # type: ignore[attr-defined]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(recovered) == 1 and recovered[0].failed_passes == 3  # type: ignore[attr-defined]


def test_the_loop_as_the_server_starts_it_outlives_a_defect(t: TestNode) -> None:
    """`Worker.run(stop)` as it always was called: the first exception that is not an
    AxisError used to end the thread, and nothing was delivered after it."""
    broker = t.node.broker
    assert isinstance(broker, DefectiveBroker)
    broker.faults = 1
    t.node.exchange.submit(t.document(UBND, (NOI_VU,), 5)[1])
    stop = threading.Event()
    loop = threading.Thread(target=t.node.worker.run, args=(stop,), daemon=True)
    loop.start()
    try:
        wait_for(lambda: len(t.node.exchange.inbox(NOI_VU)) == 1, "the copy in the inbox")
        assert loop.is_alive() and broker.faults == 0
    finally:
        stop.set()
        t.node.worker.wake.set()
        loop.join(10)


class FlakyDirectory:
    """The registry, whose listing fails `faults` times (as a database gone away would)."""

    def __init__(self, t: TestNode) -> None:
        self._registry = t.node.registry
        self.faults = 0
        self.passes = 0

    def list(self, *, state: AgencyState | None = None) -> list[Agency]:
        if self.faults > 0:
            self.faults -= 1
            raise OSError("test: connection reset")
        self.passes += 1
        return self._registry.list(state=state)

    def credentials(self, identifier: str) -> builtins.list[Credential]:
        return self._registry.credentials(identifier)


def test_push_loop_survives_beats_and_backs_off(
    tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    from adapters.push.attempts import PushAttempts
    from adapters.push.deliverer import PushDeliverer

    t = start(tmp_path, *pki_dirs, push=PushSettings(enabled=False, poll_seconds=0.01,
                                                     require_https=False))
    try:
        directory = FlakyDirectory(t)
        directory.faults = 2
        clock = FixedClock(T0)
        pusher = PushDeliverer(
            exchange=t.node.exchange, directory=directory, http=t.node.http,
            secret_for=lambda _: "x", clock=clock, random=lambda: 0.5,
            settings=t.node.settings.push, attempts=PushAttempts(t.node.store.engine))
        health = Heartbeats()
        guard = LoopGuard("push", now=clock.now, log=logging.getLogger("axis.push"),
                          health=health, min_s=0.01, max_s=0.05)
        stop = threading.Event()
        loop = threading.Thread(target=pusher.run, args=(stop, guard), daemon=True)
        loop.start()
        try:
            wait_for(lambda: directory.passes >= 2, "two completed passes")
            assert loop.is_alive()
        finally:
            stop.set()
            loop.join(10)
        (beat,) = health.status(clock.now())
        assert (beat.name, beat.failures, beat.state) == ("push", 2, Liveness.ALIVE)
        assert beat.last_success == T0 and "OSError" not in beat.last_error
        assert beat.last_error.startswith("node.internal: test: connection reset")
    finally:
        t.node.close()
