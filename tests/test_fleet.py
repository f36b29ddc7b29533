"""Heartbeats of several processes (adapters/jobs/fleet.py, axis/health.merge): what one
process publishes, another reads; a process that stopped reporting no longer counts and
its rows are forgotten; a loop the node needs that no live process runs is dead."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from exchange_support import T0
from store_support import BACKENDS, migrated_engine

from adapters.jobs.fleet import FORGET_AFTER, FRESH_FOR, Fleet, HeartbeatTable
from axis.health import Beat, Heartbeats, Liveness, merge

NEEDED = (("delivery", "loop"), ("delivery.reconcile", "job"))
MINUTE = timedelta(minutes=1)


def test_merge_best_state_wins_and_what_nobody_runs_is_dead() -> None:
    late = Beat("delivery", "loop", MINUTE, T0 - 3 * MINUTE, failures=2)
    fresh = Beat("delivery", "loop", MINUTE, T0 - 3 * MINUTE, last_success=T0, failures=1)
    merged = {b.name: b for b in merge([], [late, fresh], needed=NEEDED, now=T0)}
    assert merged["delivery"].state is Liveness.ALIVE
    assert merged["delivery"].last_success == T0 and merged["delivery"].failures == 3
    assert merged["delivery.reconcile"].state is Liveness.DEAD
    assert merged["delivery.reconcile"].last_error == "no live process runs it"
    # Another process's beat is judged again now: it stopped beating there, it is late.
    alone = merge([], [fresh], needed=(), now=T0 + 2 * MINUTE)
    assert [b.state for b in alone] == [Liveness.LATE]


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_one_process_publishes_another_reads_until_it_goes_quiet(
    backend: str, tmp_path: Path,
) -> None:
    with migrated_engine(backend, tmp_path) as engine:
        table = HeartbeatTable(engine)
        worker = Fleet(table, role="worker", needed=NEEDED, process_id="w1")
        http = Fleet(table, role="http", needed=NEEDED, process_id="h1")
        worker.register("delivery", kind="loop", expected_every=MINUTE, at=T0)
        worker.register("delivery.reconcile", kind="job", expected_every=MINUTE, at=T0)
        worker.beat("delivery", T0)
        worker.publish(T0)
        http.publish(T0)  # it runs nothing the node needs itself

        seen = {b.name: b for b in http.status(T0 + timedelta(seconds=5))}
        assert seen["delivery"].state is Liveness.ALIVE
        assert seen["delivery"].last_success == T0
        assert seen["delivery.reconcile"].state is Liveness.ALIVE

        # The worker was killed: its last report ages past FRESH_FOR, nothing runs.
        quiet = T0 + FRESH_FOR + timedelta(seconds=1)
        assert {b.name: b.state for b in http.status(quiet)} == {
            "delivery": Liveness.DEAD, "delivery.reconcile": Liveness.DEAD}
        # Its rows are deleted by whoever publishes after FORGET_AFTER.
        later = T0 + FORGET_AFTER + timedelta(seconds=1)
        http.publish(later)
        assert table.others("h1", T0) == []  # even read as of T0: the rows are gone

        # A clean stop withdraws at once.
        worker.publish(later)
        assert {b.name for b in table.others("h1", later)} == {"delivery",
                                                              "delivery.reconcile"}
        worker.withdraw()
        assert table.others("h1", later) == []


def test_a_process_alone_reads_only_itself_when_the_table_is_unreadable(
    tmp_path: Path,
) -> None:
    with migrated_engine("sqlite", tmp_path) as engine:
        fleet = Fleet(HeartbeatTable(engine), role="all", needed=(("delivery", "loop"),))
        fleet.register("delivery", kind="loop", expected_every=MINUTE, at=T0)
    # The engine is disposed and the file removed: the other processes cannot be read.
    (tmp_path / "axis-test.sqlite3").unlink()
    (tmp_path / "axis-test.sqlite3").mkdir()  # not a database any more
    assert [(b.name, b.state) for b in fleet.status(T0)] == [("delivery", Liveness.ALIVE)]
    assert isinstance(fleet, Heartbeats)


def test_metrics_show_the_loops_other_processes_run(tmp_path: Path) -> None:
    """/metrics of an HTTP-only process reads the merged view: the worker's loop is up."""
    from prometheus_client import CollectorRegistry, generate_latest

    from adapters.metrics.collectors import HealthCollector
    from axis.clock import FixedClock

    with migrated_engine("sqlite", tmp_path) as engine:
        table = HeartbeatTable(engine)
        worker = Fleet(table, role="worker", needed=NEEDED, process_id="w1")
        worker.register("delivery", kind="loop", expected_every=MINUTE, at=T0)
        worker.publish(T0)
        http = Fleet(table, role="http", needed=NEEDED, process_id="h1")
        registry = CollectorRegistry()
        registry.register(HealthCollector(http, FixedClock(T0)))
        text = generate_latest(registry).decode()
    assert 'axis_background_up{kind="loop",name="delivery"} 1.0' in text
    assert 'axis_background_up{kind="job",name="delivery.reconcile"} 0.0' in text
