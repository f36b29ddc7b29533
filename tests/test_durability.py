"""Durability (issue 8, "must show"): the node's own crash and fault tests, on the
embedded default (SQLite, no broker: the outbox delivered straight into the inboxes) as
well as on RabbitMQ + PostgreSQL. Node processes killed with SIGKILL at random moments
while packages flow (both backends), a RabbitMQ restart and a PostgreSQL restart under
load, a full package store under load on the embedded default, and two node processes
sharing PostgreSQL and RabbitMQ. After each, every accepted package is in every
recipient's inbox exactly once, under the delivery id its receipt named, and nothing of a
refused or unanswered package was delivered (`durability_support.audit`).

The node is `tests/durability_node.py`, a child process: it submits pre-signed package
files and prints each answer. The parent kills it when it has read a randomly chosen
number of lines of a randomly chosen kind, drawn from a seeded generator, so a failure
reproduces with the same AXIS_DURABILITY_SEED. AXIS_DURABILITY_PACKAGES sets the number of
good packages of the kill tests (by default 1,000 on the embedded default and 400 on
RabbitMQ + PostgreSQL, to keep the suite short on two cores; the restart, disk and
two-node tests take 400 of them). Each restarted node runs its reconciliation pass at
start, as `axis serve` does, with a bound of 1 s: it must find nothing the kill stranded.

The same scenarios against a node of several processes (`axis serve --no-background
--workers 2` and two `axis worker`, issue 9) are in tests/test_durability_fleet.py: its
processes are the real commands, so kills land by answers read, not inside a named step.

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
from urllib.parse import urlsplit

import pytest
from disk_support import fill, tmpfs
from durability_support import (
    BROKER_BACK_S,
    EMBEDDED,
    RABBIT_POSTGRES,
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
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, make_pki, start_node
from service_support import POSTGRES_URL, missing_service, wait_until
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from adapters.amqp.rabbit import RabbitBroker
from axis import errors

SEED = int(os.environ.get("AXIS_DURABILITY_SEED", "20261124"))
# Good packages of the kill tests: the embedded default moves 1,000 in about two minutes
# on two cores; RabbitMQ + PostgreSQL take three times as long, so 400 there.
_GOOD = os.environ.get("AXIS_DURABILITY_PACKAGES", "")
GOOD = {EMBEDDED: int(_GOOD or 1000), RABBIT_POSTGRES: int(_GOOD or 400)}
BAD = 12
LOAD = 400  # good packages of the restart, full-disk and two-node runs


def kill_moments(backend: str, good: int) -> dict[str, tuple[int, int]]:
    """Where a kill lands, by what the parent has just read, and the range of the count
    drawn (scaled to the run: every kill must land before the packages run out).

    Both: an answer (the child is likely inside the next submission); one the child
    inflicts on itself between a commit and its answer ("lost-answer"), which no observer
    can hit on purpose. RabbitMQ: a confirmed batch (the relay has not yet marked it
    sent: it will be published again), a fetched message (its batch is being moved into
    inboxes: some committed and not yet acked, so RabbitMQ gives them out again). The
    embedded default: a copy written into an inbox (inside the transaction that moves
    the outbox batch: rolled back whole), the batch's outbox entries marked (at its
    commit: before it nothing moved, after it everything did)."""
    f = good / 1000
    common = {"answer": (1, max(10, int(150 * f))), "lost-answer": (1, max(10, int(100 * f)))}
    if backend == EMBEDDED:
        return {**common, "inbox": (1, max(20, int(300 * f))),
                "marked": (1, max(2, int(12 * f)))}
    return {**common, "published": (1, max(2, int(6 * f))),
            "fetched": (1, max(20, int(300 * f)))}


PER_MOMENT = {"answer": 2, "published": 2, "fetched": 2, "inbox": 2, "marked": 2,
              "lost-answer": 1}
ANSWER_WORDS = {"ACCEPTED", "REFUSED"}
OUTAGE_ANSWERS = 60  # packages answered while RabbitMQ is stopped
BACKEND_PARAMS = [pytest.param(EMBEDDED, id=EMBEDDED),
                  pytest.param(RABBIT_POSTGRES, id=RABBIT_POSTGRES,
                               marks=pytest.mark.service)]

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Expect]]:
    """The CA, and the good plus 12 bad packages, signed once for the module: each test
    has a data dir, schema and queue prefix of its own, so they can all reuse the files."""
    base = tmp_path_factory.mktemp("durability")
    pki_dir = base / "pki"
    anchors = make_pki(pki_dir)
    signer = start_node(base / "signer", pki_dir, anchors)  # only its signing helpers
    try:
        expects = write_packages(signer, base / "packages", max(*GOOD.values(), LOAD), BAD,
                                 random.Random(SEED))
    finally:
        signer.node.close()
    return anchors, base / "packages", expects


def subset(expects: dict[str, Expect], good: int) -> dict[str, Expect]:
    """The first `good` good packages and every bad one."""
    goods = [n for n, e in expects.items() if e.good][:good]
    return {n: e for n, e in expects.items() if n in goods or not e.good}


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    backend: str, tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, all_expects = signed
    expects = subset(all_expects, GOOD[backend])
    moments_at = kill_moments(backend, GOOD[backend])
    rng = random.Random(SEED)
    order = sorted(expects)
    rng.shuffle(order)
    moments = [m for m in moments_at for _ in range(PER_MOMENT[m])]
    rng.shuffle(moments)
    started = time.monotonic()
    log = Log()
    kills: list[str] = []
    # The same data dir (and database) across every restart.
    with world(tmp_path, anchors, packages, backend=backend) as w:
        for moment in [*moments, None]:  # the last run is left to finish
            todo = [n for n in order if n not in log.answers]  # a client retries these
            at = rng.randint(*moments_at[moment]) if moment else 0
            # Its reconciliation at start, with a bound of 1 s, must find nothing stranded
            # by the kill before (a republished delivery would mean the outbox, the
            # relay or the consumer let one fall between them).
            child = w.start(todo, sigkill_after_accepts=at if moment == "lost-answer" else 0,
                            reconcile_after_s=1)
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
        assert len(kills) >= 5
        assert duplicates >= 1, "no retried package was found already committed"
        assert log.republished == 0, "a kill stranded deliveries: reconciliation had to act"
        if backend == EMBEDDED:
            # Copies written into inboxes by transactions a kill rolled back, written
            # again by the next run: each `delivery.available` once all the same (audit).
            rolled_back = log.inbox_writes - result.deliveries
            print(f"\nsigkill {backend} (seed {SEED}): {len(expects)} packages, "
                  f"{result.deliveries} deliveries, {len(kills)} kills at {kills}; "
                  f"{duplicates} duplicate receipts after a lost answer; {rolled_back} "
                  f"inbox writes rolled back by a kill and done again; reconciliation at "
                  f"each start republished {log.republished}; losses 0, duplicates 0; faults "
                  f"{dict(log.faults)}; {elapsed(started)}")
            assert rolled_back >= 1, "no kill landed inside a delivery transaction"
            return
        # The relay re-publishes what it could not mark sent before a kill, and RabbitMQ
        # gives out again what a killed consumer held: the consumer must absorb both.
        republished = log.published - result.deliveries
        print(f"\nsigkill {backend} (seed {SEED}): {len(expects)} packages, "
              f"{result.deliveries} deliveries, {len(kills)} kills at {kills}; "
              f"{duplicates} duplicate receipts after a lost answer; {republished} messages "
              f"published again; {log.consumed_again} consumed again ({log.redelivered} "
              f"flagged redelivered), absorbed; reconciliation at each start republished "
              f"{log.republished}; losses 0, duplicates 0; faults {dict(log.faults)}; "
              f"{elapsed(started)}")
        assert republished >= 1 and log.consumed_again >= 1, "no broker duplicate absorbed"


def rabbitmqctl(*args: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        missing_service("rabbitmqctl is not installed")
    subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120,
                   check=True)


@pytest.mark.service
def test_broker_restart_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, all_expects = signed
    expects = subset(all_expects, LOAD)
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


@pytest.mark.service
def test_two_nodes_share_the_traffic_without_duplicate_delivery(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, all_expects = signed
    expects = subset(all_expects, LOAD)
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
            if line is None and name in done:
                continue  # the end of a finished child's output, read after its DONE
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


# --- a database restart under load (RabbitMQ + PostgreSQL) ---------------------------------

def postgres_cluster() -> tuple[str, str]:
    """(version, name) of the local cluster serving the test database's port."""
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        missing_service("pg_ctlcluster is not installed: PostgreSQL cannot be restarted")
    port = str(urlsplit(POSTGRES_URL.replace("+psycopg", "")).port or 5432)
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True,
                            text=True, check=True, timeout=60).stdout
    for row in listed.splitlines():
        version, name, cluster_port, *_ = row.split()
        if cluster_port == port:
            return version, name
    missing_service(f"no local PostgreSQL cluster on port {port} to restart")


def pg_ctlcluster(cluster: tuple[str, str], action: str) -> None:
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action,
                           *(["--mode", "fast"] if action == "stop" else [])],
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        missing_service(f"pg_ctlcluster {action} failed: {done.stderr.strip()}")


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:  # still starting: asked again
        return False
    return True


@pytest.mark.service
def test_database_restart_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    """Issue 8 item 8: PostgreSQL stopped for real while the node submits, relays and
    consumes (the stop lands right after a batch was fetched, as it is being moved into
    inboxes), then started again. Submissions meanwhile fail with a node fault (the client
    retries them), delivery passes fail and go on, the consumer gives its batch back; at
    the end every accepted copy is in its inbox exactly once. Before the fix, such runs
    lost 22 to 130 copies (fetched, never settled, never redelivered)."""
    cluster = postgres_cluster()
    anchors, packages, all_expects = signed
    expects = subset(all_expects, LOAD)
    rng = random.Random(SEED + 3)
    order = sorted(expects)
    rng.shuffle(order)
    stop_after = rng.randint(80, 160)  # answers read before the database goes away
    started = time.monotonic()
    log = Log()
    # Exclusive: other durability runs on this machine wait instead of losing PostgreSQL.
    with world(tmp_path, anchors, packages, exclusive_database=True) as w:
        child = w.start(order)
        answered = 0
        while answered < stop_after:
            line = child.next()
            assert line is not None, child.stderr_tail()
            answered += log.take(line) in ANSWER_WORDS
        while True:  # the next consumed batch: stop while its messages are being moved
            line = child.next()
            assert line is not None, child.stderr_tail()
            word = log.take(line)
            assert word != "DONE", "finished before a batch was fetched"
            if word == "FETCHED":
                break
        outage = time.monotonic()
        before = Counter(log.faults)
        try:
            pg_ctlcluster(cluster, "stop")
            # The load goes on: keep the database away until submissions were refused
            # with a node fault and a delivery pass failed against it.
            while True:
                new = log.faults - before
                if (sum(v for k, v in new.items() if k.startswith("FAULT ")) >= 3
                        and sum(v for k, v in new.items() if k.startswith("WORKER-")) >= 1):
                    break
                line = child.next()
                assert line is not None, child.stderr_tail()
                assert log.take(line) != "DONE", "finished without noticing the outage"
        finally:
            pg_ctlcluster(cluster, "start")
        wait_until(lambda: database_answers(w.audit.store.engine),
                   timeout_s=BROKER_BACK_S, what="PostgreSQL is back")
        down = time.monotonic() - outage
        run_to_done(child, log)
        result = audit(w, expects, log)
        codes = log.fault_codes() | log.fault_codes("WORKER-FAULT")
        unanswered = sum((log.faults - before).values())
        print(f"\ndatabase restart (seed {SEED + 3}): {len(expects)} packages, "
              f"{result.deliveries} deliveries; stopped after {stop_after} answers and a "
              f"fetched batch, down {down:.1f} s; faults {dict(log.faults)} (submissions "
              f"answered with a node fault and retried later); "
              f"{log.published - result.deliveries} published again, {log.consumed_again} "
              f"consumed again ({log.redelivered} flagged redelivered: given back or held "
              f"by the failed pass), absorbed; losses 0, duplicates 0; {elapsed(started)}")
        assert unanswered >= 3
        assert all(c.startswith("node.") for c in codes), codes  # the node's fault
        assert not [c for c in codes if c.startswith(errors.INTERNAL.id)], (
            f"an untranslated failure: {codes}")


# --- a full disk under load (the embedded default) -----------------------------------------

TAKERS = (NOI_VU, TAI_CHINH, KE_HOACH)  # recipients that take documents as they arrive


def test_full_disk_under_load_on_the_embedded_default_loses_nothing(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    """The package store fills up while the embedded default submits, delivers and its
    recipients take: submissions fail with `node.store_unavailable` (the client retries
    them later), nothing is half-accepted; takes still deliver, the status 01 they owe
    stays owed while its bytes cannot be written and the worker queues it once there is
    space again (issue 8 item 9; since issue 9 the worker, not the take, signs the 01)."""
    anchors, packages, all_expects = signed
    expects = subset(all_expects, LOAD)
    rng = random.Random(SEED + 4)
    order = sorted(expects)
    rng.shuffle(order)
    fill_after = rng.randint(100, 160)  # answers read before the disk is full
    started = time.monotonic()
    log = Log()
    with world(tmp_path, anchors, packages, backend=EMBEDDED) as w:
        store = w.data_dir / "packages"
        # Mounted before the node starts, filled while it runs: no write of the node is
        # ever between two file systems. Unmounted only after the node has exited.
        with tmpfs(store, "64m"):
            child = w.start(order, take=TAKERS, reconcile_after_s=1, reconcile_each_pass=True)
            answered = 0
            while answered < fill_after:
                line = child.next()
                assert line is not None, child.stderr_tail()
                answered += log.take(line) in ANSWER_WORDS
            filler = fill(store)
            full = time.monotonic()
            taken_before, faults_before = len(log.taken), Counter(log.faults)
            take_faults_before = sum(log.take_faults.values())
            try:
                while True:  # keep it full until refusals and takes were both seen
                    refused = (log.faults - faults_before)[
                        f"FAULT {errors.STORE_UNAVAILABLE.id}"]
                    if refused >= 15 and len(log.taken) - taken_before >= 6:
                        break
                    line = child.next()
                    assert line is not None, child.stderr_tail()
                    assert log.take(line) != "DONE", "finished while the disk was full"
            finally:
                filler.unlink()
            full_s = time.monotonic() - full
            taken_while_full = len(log.taken) - taken_before
            take_faults_while_full = sum(log.take_faults.values()) - take_faults_before
            refused_while_full = sum((log.faults - faults_before).values())
            run_to_done(child, log)
        result = audit(w, expects, log)
        print(f"\nfull disk embedded (seed {SEED + 4}): {len(expects)} packages, "
              f"{result.deliveries} deliveries; full after {fill_after} answers for "
              f"{full_s:.1f} s: {refused_while_full} faults meanwhile {dict(log.faults)}, "
              f"{taken_while_full} copies taken ({take_faults_while_full} takes failed); "
              f"{result.taken} taken in all, "
              f"{log.arrivals} emitted late by reconciliation, {result.arrivals} status "
              f"01 in the senders' inboxes; losses 0, duplicates 0; {elapsed(started)}")
        assert log.fault_codes() == {errors.STORE_UNAVAILABLE.id}, dict(log.faults)
        assert take_faults_while_full == 0, dict(log.take_faults)
        # Copies taken while the disk was full owed their 01 then; the audit above
        # found exactly one 01 for every taken copy, so each was queued afterwards.
        assert taken_while_full >= 6 and result.arrivals == result.taken, (
            taken_while_full, result.arrivals, result.taken)
