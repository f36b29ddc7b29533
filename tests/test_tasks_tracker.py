"""The tracker's guarantees (axis/tasks/tracker.py) on SQLite and on PostgreSQL (CI=true):
a crash between reading the journal and committing leaves nothing and the next pass
applies each event once; two workers at once never apply an event twice; the reminder
job sends each reminder once across passes and workers."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from exchange_support import NOI_VU, TAI_CHINH, TestNode, start_node
from store_support import BACKENDS, database_url
from tasks_support import UBND, at
from tasks_wire_support import assigning, goto

from adapters.task_parts import task_parts
from axis.tasks.ports import TaskFilter
from axis.tasks.tracker import Pass, Tracker, mentions_tasks


class Crash(Exception):
    """Stands for the process dying before its commit."""


@pytest.fixture(params=BACKENDS)
def tn(request: pytest.FixtureRequest, tmp_path: Path,
       pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    with database_url(request.param, tmp_path) as url:
        t = start_node(tmp_path, *pki_dirs, database_url=url if request.param != "sqlite"
                       else "")
        try:
            yield t
        finally:
            t.node.close()


def _tracker(t: TestNode) -> Tracker:
    return task_parts(t.node).tracker


def _sealed(t: TestNode) -> None:
    t.node.store.seal_journal(t.clock.now())


def _kinds(t: TestNode) -> list[tuple[str, str]]:
    return [(e.kind, e.subject) for e in t.node.store.journal() if e.kind.startswith("task.")]


def _history(t: TestNode, code: str) -> list[str]:
    with task_parts(t.node).store.reading() as tx:
        return [h.step.action.value for h in tx.history(code)]


def _assign(t: TestNode) -> tuple[str, tuple[str, ...]]:
    goto(t, at(12, 1))
    doc, codes, raw = assigning(t, "123", date(2026, 12, 1), (
        (TAI_CHINH, "Rà soát giải ngân.", date(2026, 12, 15), ()),
        (NOI_VU, "Sắp xếp biên chế.", date(2026, 12, 31), ())))
    t.node.exchange.submit(raw)
    _sealed(t)
    return doc, codes


def test_a_crash_before_the_commit_leaves_nothing_and_the_next_pass_applies_once(
    tn: TestNode,
) -> None:
    t = tn
    _, (c1, c2) = _assign(t)
    crashing = _tracker(t)

    def die() -> None:
        raise Crash

    crashing.before_commit = die
    with pytest.raises(Crash):
        crashing.run_once()
    # Read, applied in memory, written in the transaction: all rolled back.
    assert _kinds(t) == []
    with task_parts(t.node).store.reading() as tx:
        assert tx.tasks([c1, c2]) == {}
    # The restarted worker reads the same entries again, once.
    assert _tracker(t).run() == 2
    assert _tracker(t).run() == 0
    assert _kinds(t) == [("task.assigned", c1), ("task.assigned", c2)]
    assert _history(t, c1) == ["assigned"]


def test_a_worker_killed_between_read_and_commit_leaves_nothing(
    tn: TestNode, tmp_path: Path, pki_dirs: tuple[Path, Path],
) -> None:
    """The same with a real process, SIGKILLed while its pass is applied and uncommitted
    (the database rolls it back: SQLite's lock and PostgreSQL's connection die with it)."""
    t = tn
    _, (c1, c2) = _assign(t)
    settings = t.node.settings
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("tasks_crash_child.py")),
         str(settings.data_dir), settings.database_url, str(pki_dirs[1])],
        cwd=Path(__file__).resolve().parent.parent, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(
            Path(__file__).resolve().parent.parent)})
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 120)
        assert ready and child.stdout.readline().strip() == b"applied"
    finally:
        child.kill()
        child.wait(30)
    assert _kinds(t) == []
    assert _tracker(t).run() == 2
    assert _kinds(t) == [("task.assigned", c1), ("task.assigned", c2)]


def test_two_workers_at_once_apply_each_event_once(tn: TestNode) -> None:
    t = tn
    _, (c1, _) = _assign(t)
    assert _tracker(t).run() == 2
    # The lead takes its copy: a delivery.delivered entry for both workers to see.
    t.deliver_all()
    goto(t, at(12, 2))
    copy = next(d for d in t.node.exchange.inbox(TAI_CHINH))
    t.node.exchange.take(TAI_CHINH, copy.delivery_id)
    _sealed(t)

    holding, release = threading.Event(), threading.Event()
    first = _tracker(t)

    def hold() -> None:  # the first worker stops with its cursor row locked
        holding.set()
        assert release.wait(30)

    first.before_commit = hold
    results: dict[str, Pass] = {}
    a = threading.Thread(target=lambda: results.__setitem__("a", first.run_once()))
    a.start()
    assert holding.wait(30)
    # The second worker: skips (PostgreSQL: the row is locked) or waits for the first
    # commit (SQLite: one writer) and then finds the cursor moved; either way nothing
    # is applied twice.
    b = threading.Thread(target=lambda: results.__setitem__("b", _tracker(t).run_once()))
    b.start()
    release.set()
    a.join(30)
    b.join(30)
    assert results["a"].transitions == 1
    assert results["b"].transitions == 0
    assert _history(t, c1) == ["assigned", "received"]
    assert _kinds(t).count(("task.received", c1)) == 1


def test_reminders_are_sent_once_across_passes_and_workers(tn: TestNode) -> None:
    t = tn
    _, (c1, c2) = _assign(t)
    _tracker(t).run()
    goto(t, at(12, 10, 8))  # 3 working days before 15 Dec: 10 Dec, 07:30
    jobs = [task_parts(t.node).reminders for _ in range(3)]
    sent = [0] * len(jobs)

    def run(i: int) -> None:
        sent[i] = jobs[i].run_once()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert sum(sent) == 1
    assert jobs[0].run_once() == 0  # a later pass (a restart) finds it sent
    reminders = [e for e in t.node.store.journal() if e.kind == "task.reminder"]
    assert [(e.subject, e.payload["reminder"]) for e in reminders] == [
        (c1, "before:2026-12-15:3wd")]
    recipients = reminders[0].payload["recipients"]
    assert isinstance(recipients, list) and set(recipients) == {TAI_CHINH, UBND}
    assert c2 not in {e.subject for e in reminders}


def test_only_packages_whose_header_mentions_tasks_are_read_whole() -> None:
    from tasks_support import assigning_package

    raw = assigning_package()
    for size in (1, 7, 64, len(raw)):  # the mark split across any chunk boundary
        parts = [raw[i:i + size] for i in range(0, len(raw), size)]
        assert mentions_tasks(iter(parts))
    body = b"<edXML:edXMLBody>" + b"x" * 100
    plain = raw.replace(b"urn:axis-node:edxml:tasks:1", b"urn:example:other")
    assert not mentions_tasks(iter([plain]))
    # Past the body's start tag nothing is read: a mark there is an attachment's text.
    read: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for part in (b"<edXML:edXMLHeader/>", body, b"ResponseForTask", b"never"):
            read.append(part)
            yield part

    assert not mentions_tasks(chunks())
    assert read[-1] == body


def test_the_tracker_and_the_reminders_run_as_the_nodes_jobs(t: TestNode) -> None:
    from adapters.jobs.catalog import REMIND_JOB, TRACK_JOB, node_jobs

    jobs = {job.name: job for job in node_jobs(t.node)}
    assert jobs[TRACK_JOB].at_start and jobs[TRACK_JOB].interval.total_seconds() <= 2
    _, (c1, _) = _assign(t)
    goto(t, at(12, 1, 10))
    _, _, raw = assigning(t, "124", date(2026, 12, 1), (
        (TAI_CHINH, "Báo cáo tổng hợp.", date(2026, 12, 31), ()),))
    t.node.exchange.submit(raw)  # not sealed yet
    jobs[TRACK_JOB].fn(t.clock.now())
    with task_parts(t.node).store.reading() as tx:
        assert len(tx.find(TaskFilter())) == 3
    goto(t, at(12, 10, 8))
    jobs[REMIND_JOB].fn(t.clock.now())
    assert [e.subject for e in t.node.store.journal() if e.kind == "task.reminder"] == [c1]
