"""Durability on the real services (issue "must show" items): node processes killed with
SIGKILL while 1,000 packages flow, a RabbitMQ restart under load, and two node processes
sharing PostgreSQL and RabbitMQ. After each, every accepted package is in every
recipient's inbox exactly once, under the delivery id its receipt named, and nothing of a
refused or unanswered package was delivered (`durability_support.audit`).

The node is `tests/durability_node.py`, a child process (the REST edge does not exist
yet): it submits pre-signed package files and prints each answer. The parent kills it
when it has read a randomly chosen number of lines of a randomly chosen kind, drawn from
a seeded generator, so a failure reproduces with the same AXIS_DURABILITY_SEED.

Run: .venv/bin/pytest tests/test_durability.py -s (prints the numbers of each run).
"""

from __future__ import annotations

import os
import queue
import random
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from durability_support import (
    BROKER_BACK_S,
    Expect,
    Lines,
    Log,
    answers,
    audit,
    elapsed,
    next_line,
    run_to_done,
    world,
    write_packages,
)
from exchange_support import make_pki, start_node
from service_support import missing_service, require_postgres, require_rabbitmq, wait_until

from adapters.amqp.rabbit import RabbitBroker

SEED = int(os.environ.get("AXIS_DURABILITY_SEED", "20261124"))
GOOD, BAD = 1000, 12
# Where a kill lands, by what the parent has just read: an answer (the child is likely
# inside the next submission), a confirmed batch (the relay has not yet marked it sent:
# it will be published again), a fetched message (its batch is being moved into inboxes:
# some committed and not yet acked, so RabbitMQ gives them out again).
# Two of each, at a random count (range below); plus one the child inflicts on itself
# between a commit and its answer ("lost-answer"), which no observer can hit on purpose.
KILL_MOMENTS = {"answer": (1, 150), "published": (1, 6), "fetched": (1, 300),
                "lost-answer": (1, 100)}
PER_MOMENT = {"answer": 2, "published": 2, "fetched": 2, "lost-answer": 1}
ANSWER_WORDS = {"ACCEPTED", "REFUSED"}
OUTAGE_ANSWERS = 60  # packages answered while RabbitMQ is stopped

pytestmark = [pytest.mark.service, pytest.mark.slow]


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Expect]]:
    """The CA, and 1,000 good plus 12 bad packages, signed once for the module: each test
    has a schema and queue prefix of its own, so they can all reuse the same files."""
    require_rabbitmq()  # skip (or fail in CI) before spending time on signing
    require_postgres()
    base = tmp_path_factory.mktemp("durability")
    pki_dir = base / "pki"
    anchors = make_pki(pki_dir)
    signer = start_node(base / "signer", pki_dir, anchors)  # only its signing helpers
    try:
        expects = write_packages(signer, base / "packages", GOOD, BAD, random.Random(SEED))
    finally:
        signer.node.close()
    return anchors, base / "packages", expects


def subset(expects: dict[str, Expect], good: int) -> dict[str, Expect]:
    """The first `good` good packages and every bad one."""
    goods = [n for n, e in expects.items() if e.good][:good]
    return {n: e for n, e in expects.items() if n in goods or not e.good}


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, expects = signed
    rng = random.Random(SEED)
    order = sorted(expects)
    rng.shuffle(order)
    moments = [m for m, n in PER_MOMENT.items() for _ in range(n)]
    rng.shuffle(moments)
    started = time.monotonic()
    log = Log()
    kills: list[str] = []
    with world(tmp_path, anchors, packages) as w:
        for moment in [*moments, None]:  # the last run is left to finish
            todo = [n for n in order if n not in log.answers]  # a client retries these
            at = rng.randint(*KILL_MOMENTS[moment]) if moment else 0
            child = w.start(todo, sigkill_after_accepts=at if moment == "lost-answer" else 0)
            seen: Counter[str] = Counter()
            end = "exit"
            while (line := child.next()) is not None:
                word = log.take(line)
                if word == "DONE":
                    end = "done"
                    break
                seen["answer" if word in ANSWER_WORDS else word.lower()] += 1
                if moment and seen[moment] == at:
                    child.kill()
                    end = "killed"
                    break
            if end == "done":
                child.finish()
            else:
                if end == "killed":
                    # What it wrote before it died still reached the client: read it all.
                    while (line := child.next()) is not None:
                        log.take(line)
                child.kill()  # reaps it (also one that killed itself)
                kills.append(f"{moment}#{at} ({len(log.answers)} answered)")
            expected = {None: "done", "lost-answer": "exit"}.get(moment, "killed")
            assert end == expected, (
                f"run {child.name}: kill at {moment}#{at} (seed {SEED}) but {end}; "
                f"{child.stderr_tail()}")
        result = audit(w, expects, log)
        duplicates = sum(a.duplicate for said in log.answers.values() for a in said)
        # The relay re-publishes what it could not mark sent before a kill, and RabbitMQ
        # gives out again what a killed consumer held: the consumer must absorb both.
        republished = log.published - result.deliveries
        print(f"\nsigkill (seed {SEED}): {len(expects)} packages, {result.deliveries} "
              f"deliveries, {len(kills)} kills at {kills}; {duplicates} duplicate receipts "
              f"after a lost answer; {republished} messages published again; "
              f"{log.consumed_again} consumed again ({log.redelivered} flagged "
              f"redelivered), absorbed; faults {dict(log.faults)}; {elapsed(started)}")
        assert len(kills) >= 5
        assert duplicates >= 1, "no retried package was found already committed"
        assert republished >= 1 and log.consumed_again >= 1, "no broker duplicate absorbed"


def rabbitmqctl(*args: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        missing_service("rabbitmqctl is not installed")
    subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120,
                   check=True)


def test_broker_restart_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, all_expects = signed
    expects = subset(all_expects, 400)
    rng = random.Random(SEED + 1)
    order = sorted(expects)
    rng.shuffle(order)
    stop_after = rng.randint(80, 160)  # answers read before the broker goes away
    started = time.monotonic()
    log = Log()
    # Exclusive: other test runs on this machine wait instead of seeing the broker vanish.
    with world(tmp_path, anchors, packages, exclusive_broker=True) as w:
        child = w.start(order)
        answered = 0
        while answered < stop_after:
            line = child.next()
            assert line is not None, child.stderr_tail()
            answered += log.take(line) in ANSWER_WORDS
        outage = time.monotonic()
        try:
            rabbitmqctl("stop_app")
            # The load goes on (submissions need only the database): keep the broker away
            # until delivery passes have failed against it and a backlog has built up.
            backlog = min(OUTAGE_ANSWERS, len(order) - len(log.answers))
            while sum(log.faults.values()) < 2 or len(log.answers) - stop_after < backlog:
                line = child.next()
                assert line is not None, child.stderr_tail()
                assert log.take(line) != "DONE", "finished without noticing the outage"
        finally:
            rabbitmqctl("start_app")
        probe = RabbitBroker(w.broker_url, prefix=w.prefix)
        wait_until(lambda: answers(probe), timeout_s=BROKER_BACK_S, what="RabbitMQ is back")
        probe.close()
        down = time.monotonic() - outage
        answered_in_outage = len(log.answers) - stop_after
        run_to_done(child, log)
        result = audit(w, expects, log)
        print(f"\nbroker restart (seed {SEED + 1}): {len(expects)} packages, "
              f"{result.deliveries} deliveries; stopped after {stop_after} answers, down "
              f"{down:.1f} s, {answered_in_outage} answered meanwhile; faults "
              f"{dict(log.faults)}; {log.published - result.deliveries} published again, "
              f"{log.consumed_again} consumed again, absorbed; {elapsed(started)}")


def test_two_nodes_share_the_traffic_without_duplicate_delivery(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, all_expects = signed
    expects = subset(all_expects, 400)
    rng = random.Random(SEED + 2)
    first = sorted(expects)
    rng.shuffle(first)
    # Interleaved: the second node takes each adjacent pair the other way round, so the
    # two keep meeting on the same packages at the same moment.
    second = [first[i ^ 1] if (i ^ 1) < len(first) else first[i] for i in range(len(first))]
    started = time.monotonic()
    log = Log()
    lines: Lines = queue.Queue()
    with world(tmp_path, anchors, packages) as w:
        nodes = [w.start(first, name="a", wait_go=True, lines=lines),
                 w.start(second, name="b", wait_go=True, lines=lines)]
        by_name = {c.name: c for c in nodes}
        ready: set[str] = set()
        while len(ready) < len(nodes):  # both built before either submits
            name, line = next_line(lines, nodes)
            assert line == "READY", (name, line, by_name[name].stderr_tail())
            ready.add(name)
        for c in nodes:
            c.go()
        done: set[str] = set()
        per_node: dict[str, Counter[str]] = {c.name: Counter() for c in nodes}
        while len(done) < len(nodes):
            name, line = next_line(lines, nodes)
            assert line is not None, f"{name} ended early; {by_name[name].stderr_tail()}"
            word = log.take(line)
            per_node[name][word] += 1
            per_node[name]["created"] += word == "ACCEPTED" and not line.endswith("duplicate")
            if word == "DONE":
                by_name[name].finish()
                done.add(name)
        result = audit(w, expects, log)
        for name, said in log.answers.items():
            assert len(said) == 2, (name, said)  # one answer from each node
            if expects[name].good:
                # One node created the copies, the other was told "duplicate", same ids.
                assert sorted(a.duplicate for a in said) == [False, True], (name, said)
        consumed = {n: c["FETCHED"] for n, c in per_node.items()}
        created = {n: c["created"] for n, c in per_node.items()}
        print(f"\ntwo nodes (seed {SEED + 2}): {len(expects)} packages each, "
              f"{result.deliveries} deliveries; packages whose copies each node created "
              f"{created}, messages each consumed {consumed}; {log.consumed_again} consumed "
              f"twice; faults {dict(log.faults)}; {elapsed(started)}")
