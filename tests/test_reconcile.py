"""Copies that were accepted must reach an inbox, whatever fails on the way (issue 8,
items 8 and 9), on every backend: SQLite or PostgreSQL, the embedded default's outbox or
the in-process broker or RabbitMQ.

- A database failure in the middle of a consumed batch (one transaction) rolls the whole
  batch back and gives every message back to the broker at once (no message left
  delivered-and-unsettled on a live connection); the next pass delivers all of them
  exactly once.
- On the embedded default the outbox is the queue: an entry leaves it only in the
  transaction that puts its copy into the inbox.
- Reconciliation republishes deliveries that were handed to a broker and lost there
  (marked sent, in no inbox, the queue empty), idempotently, and leaves a backlog alone.
- A take whose status 01 cannot be written still delivers; reconciliation sends the 01.

The database failures are real: a trigger in the database itself aborts the insert of
one chosen inbox row, as a restarting PostgreSQL would abort the transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from disk_support import full_disk
from exchange_support import NOI_VU, UBND, TestNode, seed_agency_ids, start_node
from service_support import broker_prefix, rabbitmq_lease, require_rabbitmq, wait_until
from sqlalchemy import Engine, text
from store_support import database_url

from adapters.amqp.memory import InProcessBroker
from adapters.amqp.rabbit import RabbitBroker
from adapters.store import migrate
from axis.errors import AxisError
from axis.route.broker import BrokerPort, ReceivedMessage
from axis.route.model import DeliveryState, Receipt
from axis.route.policy import route

BACKENDS = [
    pytest.param(("sqlite", "memory"), id="sqlite-memory"),
    pytest.param(("postgresql", "memory"), id="postgresql-memory", marks=pytest.mark.service),
    pytest.param(("postgresql", "rabbit"), id="postgresql-rabbit", marks=pytest.mark.service),
    pytest.param(("sqlite", "rabbit"), id="sqlite-rabbit", marks=pytest.mark.service),
]


@pytest.fixture(params=BACKENDS)
def bt(request: pytest.FixtureRequest, tmp_path: Path,
       pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    """A node with an explicit broker (the broker path of production)."""
    db_backend, broker_kind = request.param
    with ExitStack() as stack:
        url = stack.enter_context(database_url(db_backend, tmp_path)) \
            if db_backend == "postgresql" else ""
        broker: BrokerPort
        if broker_kind == "rabbit":
            amqp = require_rabbitmq()
            stack.enter_context(rabbitmq_lease())
            rabbit = RabbitBroker(amqp, prefix=broker_prefix())
            stack.callback(rabbit.delete_topology, seed_agency_ids())
            broker = rabbit
        else:
            broker = InProcessBroker()
        node = start_node(tmp_path, *pki_dirs, broker=broker, database_url=url)
        stack.callback(node.node.close)
        yield node


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def et(request: pytest.FixtureRequest, tmp_path: Path,
       pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    """The embedded default's delivery (no broker): the outbox is the queue."""
    with direct_node(request.param, tmp_path, pki_dirs) as node:
        assert node.node.worker.direct
        yield node


@contextmanager
def direct_node(db_backend: str, tmp_path: Path,
                pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    """A node delivering straight from its outbox, on SQLite or PostgreSQL."""
    with ExitStack() as stack:
        url = stack.enter_context(database_url(db_backend, tmp_path)) \
            if db_backend == "postgresql" else ""
        node = start_node(tmp_path, *pki_dirs, database_url=url)
        stack.callback(node.node.close)
        yield node


def fail_inbox_insert_of(engine: Engine, delivery_id: str) -> None:
    """The database refuses one inbox row, as a failing database would: the consumer's
    transaction for that message aborts."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(
                "CREATE TRIGGER fail_one BEFORE INSERT ON inbox "
                f"WHEN NEW.delivery_id = '{delivery_id}' "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"))
        else:
            conn.execute(text(
                "CREATE FUNCTION fail_one() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.delivery_id = '{delivery_id}' THEN "
                "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER fail_one BEFORE INSERT ON inbox "
                              "FOR EACH ROW EXECUTE FUNCTION fail_one()"))


def heal(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER fail_one" if engine.dialect.name == "sqlite"
                          else "DROP TRIGGER fail_one ON inbox"))


def inbox_ids(t: TestNode, agency: str) -> list[str]:
    return [i.delivery_id for i in t.node.exchange.inbox(agency, limit=1000)]


def submit_many(t: TestNode, n: int, first: int = 1) -> list[str]:
    ids = []
    for k in range(first, first + n):
        receipt = t.node.exchange.submit(t.document(UBND, (NOI_VU,), k)[1])
        ids.append(receipt.deliveries[0].delivery_id)
    return ids


# --- item 8: a failure mid-batch strands nothing ------------------------------------

def receive_n(broker: BrokerPort, n: int) -> list[ReceivedMessage]:
    """Exactly the `n` messages the subscription delivers (the broker's pace, bounded)."""
    got: list[ReceivedMessage] = []
    wait_until(lambda: len(got.__iadd__(broker.receive(n - len(got), 0.2))) >= n,
               timeout_s=10, what=f"{n} messages delivered to the consumer")
    return got


def test_database_failure_mid_batch_gives_the_whole_batch_back(bt: TestNode) -> None:
    handover, broker, engine = bt.node.worker.handover, bt.node.broker, bt.node.store.engine
    ids = submit_many(bt, 6)
    assert len(handover.relay_once(100)) == 6
    fail_inbox_insert_of(engine, ids[2])
    broker.subscribe([NOI_VU])
    batch = receive_n(broker, 6)
    with pytest.raises(AxisError) as failed:
        handover.move(batch)
    assert failed.value.code.id.startswith("node.")
    assert inbox_ids(bt, NOI_VU) == []  # one transaction for the batch: none half-moved
    # Every message of the batch was given back at once, not held by a consumer that will
    # never settle them: the broker delivers all of them again, no attempt counted.
    again = receive_n(broker, 6)
    assert sorted(r.message.delivery_id for r in again) == sorted(ids)
    assert all(r.redelivered and r.attempt == 1 for r in again)
    heal(engine)
    assert handover.move(again) == 6
    bt.node.worker.run_once()
    assert sorted(inbox_ids(bt, NOI_VU)) == sorted(ids)  # each exactly once
    assert broker.depth(NOI_VU) == 0
    with bt.node.store.transaction() as tx:
        assert tx.count_deliveries(DeliveryState.QUEUED) == 0


def test_the_delivery_loop_goes_on_after_a_failed_pass(bt: TestNode) -> None:
    ids = submit_many(bt, 3)
    fail_inbox_insert_of(bt.node.store.engine, ids[0])
    with pytest.raises(AxisError):
        bt.node.worker.run_once()
    heal(bt.node.store.engine)
    wait_until(lambda: (bt.node.worker.run_once(), len(inbox_ids(bt, NOI_VU)))[1] == 3,
               timeout_s=10, what="the next passes deliver every copy")


# --- item 9: the embedded default's outbox is its queue -----------------------------

def test_outbox_entries_leave_only_with_their_copy_in_the_inbox(et: TestNode) -> None:
    ids = submit_many(et, 5)
    fail_inbox_insert_of(et.node.store.engine, ids[3])
    with pytest.raises(AxisError):
        et.node.worker.handover.deliver_direct(100)
    # The batch's transaction rolled back whole: nothing moved, nothing marked sent.
    with et.node.store.transaction() as tx:
        assert tx.pending_outbox() == 5
    assert inbox_ids(et, NOI_VU) == []
    heal(et.node.store.engine)
    assert et.node.worker.run_once() == 5
    assert sorted(inbox_ids(et, NOI_VU)) == sorted(ids)
    with et.node.store.transaction() as tx:
        assert tx.pending_outbox() == 0


def test_a_restarted_embedded_node_delivers_what_the_dead_one_accepted(
    tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    first = start_node(tmp_path, *pki_dirs)
    ids = submit_many(first, 4)
    first.node.close()  # dies before any delivery pass: nothing in memory matters
    second = start_node(tmp_path, *pki_dirs)
    try:
        assert second.node.worker.run_once() == 4
        assert sorted(inbox_ids(second, NOI_VU)) == sorted(ids)
    finally:
        second.node.close()


# --- reconciliation ----------------------------------------------------------------

def lose_broker_state(t: TestNode) -> None:
    """What a broker that loses its messages leaves: the outbox says sent, no queue
    holds the copies (the in-process broker's memory after a crash; a RabbitMQ node
    rebuilt without its disk)."""
    broker = t.node.broker
    if isinstance(broker, InProcessBroker):
        while fetched := broker.fetch(NOI_VU, 100):
            for r in fetched:
                broker.ack(r)
    else:
        assert isinstance(broker, RabbitBroker)
        broker.delete_topology([NOI_VU])


def test_reconciliation_republishes_what_a_broker_lost(bt: TestNode) -> None:
    ids = submit_many(bt, 3)
    assert len(bt.node.worker.handover.relay_once(100)) == 3
    lose_broker_state(bt)
    bt.node.worker.run_once()
    assert inbox_ids(bt, NOI_VU) == []
    worker = bt.node.worker
    # Not before the bound: a copy may legitimately be on its way.
    assert worker.reconcile().republished == 0
    assert worker.stranded(bt.clock.now()) == 0
    bt.clock.advance(worker.reconcile_after + timedelta(seconds=1))
    assert worker.stranded(bt.clock.now()) == 3
    report = worker.reconcile()
    assert report.republished == 3
    assert worker.reconcile().republished == 0  # idempotent: the outbox has them again
    worker.run_once()
    assert sorted(inbox_ids(bt, NOI_VU)) == sorted(ids)
    assert worker.stranded(bt.clock.now()) == 0
    kinds = [e.kind for e in bt.node.store.journal()]
    assert kinds.count("delivery.republished") == 3


def test_reconciliation_leaves_a_waiting_backlog_alone(bt: TestNode) -> None:
    submit_many(bt, 2)
    assert len(bt.node.worker.handover.relay_once(100)) == 2
    bt.clock.advance(bt.node.worker.reconcile_after + timedelta(seconds=1))
    wait_until(lambda: bt.node.broker.depth(NOI_VU) == 2, timeout_s=10,
               what="both messages wait in the queue")
    report = bt.node.worker.reconcile()
    assert report.republished == 0 and report.waiting == (NOI_VU,)
    bt.node.worker.run_once()
    assert len(inbox_ids(bt, NOI_VU)) == 2


def test_reconciliation_finds_sent_but_undelivered_entries_on_the_embedded_default(
    et: TestNode,
) -> None:
    """Data left by a node that marked entries sent before they reached an inbox (what
    the embedded default did before the outbox became its queue)."""
    ids = submit_many(et, 2)
    with et.node.store.transaction() as tx:
        tx.mark_sent([e.entry_id for e in tx.claim_outbox(100)], et.clock.now())
    et.node.worker.run_once()
    assert inbox_ids(et, NOI_VU) == []
    et.clock.advance(et.node.worker.reconcile_after + timedelta(seconds=1))
    assert et.node.worker.reconcile().republished == 2
    et.node.worker.run_once()
    assert sorted(inbox_ids(et, NOI_VU)) == sorted(ids)


def test_a_take_stands_when_its_status_01_cannot_be_written(et: TestNode) -> None:
    """A full disk: the copy is taken (delivered, Art. 11.2 time recorded); the node's
    01 is owed from the take, and the worker queues it once space is back, once."""
    [delivery_id] = submit_many(et, 1)
    et.node.worker.run_once()
    [later] = submit_many(et, 1, first=2)  # accepted before the disk fills, not yet delivered
    with full_disk(et.node.settings.data_dir / "packages") as filler:
        d, raw = et.node.exchange.take(NOI_VU, delivery_id)
        assert d.state is DeliveryState.DELIVERED and raw
        et.node.worker.run_once()  # the 01 cannot be written: it stays owed …
        assert et.node.worker.arrivals == 0 and et.node.exchange.inbox(UBND) == []
        # … and the copies already accepted are delivered all the same.
        assert later in [i.delivery_id for i in et.node.exchange.inbox(NOI_VU)]
        et.node.worker.run_once()
        assert et.node.worker.arrivals == 0
        filler.unlink()
        et.node.worker.run_once()
        assert et.node.worker.arrivals == 1
        et.node.worker.run_once()
        assert et.node.worker.arrivals == 0
        assert [i.status_code for i in et.node.exchange.inbox(UBND)] == ["01"]
        # Reconciliation finds nothing left to emit: the due row went with the 01.
        et.clock.advance(et.node.worker.reconcile_after + timedelta(seconds=1))
        assert et.node.worker.reconcile().arrivals == 0


# --- the same package accepted twice at the same moment ---------------------------------

@pytest.fixture()
def pgt(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    """The embedded delivery over PostgreSQL: READ COMMITTED lets two accept
    transactions run at once (SQLite's BEGIN IMMEDIATE queues the second instead)."""
    with direct_node("postgresql", tmp_path, pki_dirs) as node:
        yield node


@pytest.mark.service
def test_a_racing_acceptance_of_the_same_package_is_answered_duplicate(pgt: TestNode) -> None:
    """Two HTTP processes accept the same package at once (a client retrying on a new
    connection): the loser's insert of the copy hits the winner's unique key. It is
    answered "duplicate" with the winner's delivery id, not a server error (issue 9)."""
    _, raw = pgt.document(UBND, (NOI_VU,), 77)
    ex = pgt.node.exchange
    at = pgt.clock.now()
    checked = ex.trust(raw, at)
    plan = route(checked.package, ex.directory)
    outcome: dict[str, object] = {}
    with ex.store.transaction() as tx:  # the winner, not yet committed
        first = ex._accept(tx, raw, checked, plan.recipients, at)

        def loser() -> None:
            try:
                outcome["receipt"] = ex.submit(raw)
            except AxisError as exc:
                outcome["error"] = exc.code.id

        racer = threading.Thread(target=loser)
        racer.start()

        def blocked() -> bool:  # the loser waits on the winner's uncommitted rows
            with pgt.node.store.engine.connect() as conn:
                return bool(conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar())
        wait_until(blocked, timeout_s=20, what="the second acceptance waits on the first")
    racer.join(timeout=30)
    assert "error" not in outcome, outcome
    receipt = outcome["receipt"]
    assert isinstance(receipt, Receipt)
    [copy] = receipt.deliveries
    assert copy.duplicate and copy.delivery_id == first.deliveries[0].delivery_id


def test_copies_taken_before_the_owed_row_existed_get_their_01(et: TestNode) -> None:
    """Migration 0007: a copy taken under the old code while its 01 could not be written
    (no 01, no owed row) gets an owed row, so the worker sends that 01; a copy whose 01
    went out is left alone. Reconciliation then reads only the owed rows."""
    first, legacy = submit_many(et, 2)
    et.node.worker.run_once()
    et.node.exchange.take(NOI_VU, first)
    et.node.worker.run_once()  # its 01 goes out, the owed row with it
    et.node.exchange.take(NOI_VU, legacy)
    engine = et.node.store.engine
    with engine.begin() as conn:  # as the old code left it: taken, no 01, nothing owed
        conn.execute(text("DELETE FROM arrivals_due"))
    migrate.downgrade(engine, "0006_arrivals_due")
    migrate.upgrade(engine)
    with et.node.store.transaction() as tx:
        assert [i for i, _ in tx.claim_arrivals_due(10)] == [legacy]
        far = et.clock.now() + timedelta(days=1)
        assert [d.delivery_id for d in tx.delivered_without_arrival(far, 10)] == [legacy]
    et.node.worker.run_once()
    assert et.node.worker.arrivals == 1
    assert [i.status_code for i in et.node.exchange.inbox(UBND)] == ["01", "01"]
