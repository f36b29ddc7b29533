"""Issue 11, item 1: a journal that cannot be cut silently. The node signs checkpoints of
its sealed journal (periodically and at shutdown), keeps them and exports each as a file;
`axis audit verify --checkpoint DIR` finds a journal cut at its end (the head rewritten
to match, so that the chain alone still verifies) or rewritten below a checkpoint, and
refuses a checkpoint file the node did not sign."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from exchange_support import NOI_VU, TAI_CHINH, UBND, TestNode
from route_support import BACKENDS, T0
from store_support import database_url

from adapters.cli import main
from adapters.jobs.background import Background
from adapters.jobs.catalog import CHECKPOINT_JOB, node_jobs
from adapters.store.checkpoints import SqlCheckpoints, export_dir, files, load, write
from adapters.store.db import make_engine
from adapters.store.route_repo import SqlRouteStore
from axis.errors import AxisError
from axis.health import Heartbeats
from axis.journal import checkpoint as cpt
from axis.journal.chain import new_entry, seal

DB_NAME = "axis.sqlite3"


def traffic(t: TestNode, n: int, start: int = 1) -> None:
    """`n` documents submitted and delivered, the journal sealed as the job would."""
    for i in range(start, start + n):
        _, raw = t.document(UBND, (NOI_VU, TAI_CHINH), i)
        t.node.exchange.submit(raw)
    t.deliver_all()
    assert not t.node.store.seal_journal(t.clock.now()).broken


def checkpoint_now(t: TestNode) -> None:
    jobs = {job.name: job for job in node_jobs(t.node)}
    jobs[CHECKPOINT_JOB].fn(t.clock.now())


def checkpoints_dir(t: TestNode) -> Path:
    return export_dir(t.node.settings)


def node_cert(t: TestNode) -> Path:
    return t.node.settings.data_dir / "node" / "node.pem"


def copy_database(t: TestNode, to: Path) -> str:
    """A consistent copy of the node's live SQLite database (the backup API, WAL and
    all), as `to/axis.sqlite3`: what an administrator with file access could take."""
    to.mkdir(parents=True)
    src = sqlite3.connect(t.node.settings.data_dir / DB_NAME)
    dst = sqlite3.connect(to / DB_NAME)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{to / DB_NAME}"


def cut_end(url: str, n: int) -> int:
    """Delete the last `n` journal entries and rewrite the seal head (and SQLite's
    number counter, and the checkpoint rows) so that the shorter chain is consistent:
    what someone covering their tracks would do. The new last seq."""
    engine = make_engine(url)
    with engine.begin() as conn:
        last = conn.exec_driver_sql("SELECT max(seq) FROM journal").scalar_one()
        keep = last - n
        conn.exec_driver_sql(f"DELETE FROM journal WHERE seq > {keep}")
        link = conn.exec_driver_sql(f"SELECT hash FROM journal WHERE seq = {keep}").scalar_one()
        conn.exec_driver_sql(f"UPDATE journal_head SET seq = {keep}, hash = '{link}'")
        conn.exec_driver_sql(f"UPDATE sqlite_sequence SET seq = {keep} WHERE name = 'journal'")
        conn.exec_driver_sql("DELETE FROM journal_checkpoints")
    engine.dispose()
    return int(keep)


def rewrite_from(url: str, seq: int) -> None:
    """Change the entry at `seq` and re-chain everything after it consistently (entry
    hashes, links, the seal head): the chain alone verifies again."""
    engine = make_engine(url)
    store = SqlRouteStore(engine)
    entries = list(store.journal())
    prev = next(e.hash for e in entries if e.seq == seq - 1) if seq > 1 else "0" * 64
    with engine.begin() as conn:
        for e in entries:
            if e.seq < seq:
                continue
            payload = dict(e.payload, forged=True) if e.seq == seq else e.payload
            new = seal(new_entry(e.seq, e.at, e.kind, e.subject, payload), prev or "")
            conn.exec_driver_sql(
                "UPDATE journal SET payload = ?, entry_hash = ?, prev_hash = ?, hash = ? "
                "WHERE seq = ?",
                (cpt_json(new.payload), new.entry_hash, new.prev_hash, new.hash, e.seq))
            prev = new.hash
        conn.exec_driver_sql("UPDATE journal_head SET hash = ?", (prev,))
    engine.dispose()


def cpt_json(payload: dict[str, object]) -> str:
    from axis.journal.chain import canonical

    return canonical(payload)


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["audit", "verify", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture()
def as_cli(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    monkeypatch.delenv("AXIS_DATABASE_URL", raising=False)
    return monkeypatch


def test_a_truncated_copy_verifies_alone_but_fails_against_the_exported_checkpoints(
    t: TestNode, tmp_path: Path, as_cli: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    traffic(t, 3)
    checkpoint_now(t)
    [exported] = files(checkpoints_dir(t))
    vouched = load(exported).checkpoint
    assert vouched.seq == t.node.store.journal_head()[0] > 5

    copy = tmp_path / "copy"
    cut_end(copy_database(t, copy), 4)
    as_cli.setenv("AXIS_DATA_DIR", str(copy))
    code, report = audit(capsys)
    assert (code, report["ok"], report["sealed_seq"]) == (0, True, vouched.seq - 4)

    code, report = audit(capsys, "--checkpoint", str(checkpoints_dir(t)),
                         "--cert", str(node_cert(t)))
    assert code == 1 and report["ok"] is False
    checked = report["checkpoint"]
    assert isinstance(checked, dict)
    assert (checked["verdict"], checked["seq"], checked["file"]) == (
        "truncated", vouched.seq, str(exported))
    assert "removed from the end" in checked["reason"]

    # The node's own copy still holds: ok against the same directory.
    as_cli.setenv("AXIS_DATA_DIR", str(t.node.settings.data_dir))
    code, report = audit(capsys, "--checkpoint", str(checkpoints_dir(t)))
    assert (code, report["ok"]) == (0, True)
    assert isinstance(report["checkpoint"], dict)
    assert report["checkpoint"]["verdict"] == "ok"


def test_an_entry_rewritten_below_the_checkpoint_is_a_rollback(
    t: TestNode, tmp_path: Path, as_cli: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    traffic(t, 2)
    checkpoint_now(t)
    traffic(t, 1, start=3)  # more after the checkpoint: the rewrite is below its seq
    vouched = load(files(checkpoints_dir(t))[0]).checkpoint
    copy = tmp_path / "copy"
    rewrite_from(copy_database(t, copy), vouched.seq - 2)
    as_cli.setenv("AXIS_DATA_DIR", str(copy))
    code, report = audit(capsys)
    assert (code, report["ok"]) == (0, True)  # re-chained: the chain alone cannot tell
    code, report = audit(capsys, "--checkpoint", str(files(checkpoints_dir(t))[0]),
                         "--cert", str(node_cert(t)))
    assert code == 1
    assert isinstance(report["checkpoint"], dict)
    assert report["checkpoint"]["verdict"] == "rolled_back"


def test_a_forged_checkpoint_file_is_refused(
    t: TestNode, tmp_path: Path, as_cli: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    traffic(t, 1)
    checkpoint_now(t)
    as_cli.setenv("AXIS_DATA_DIR", str(t.node.settings.data_dir))
    [real] = files(checkpoints_dir(t))
    doc = json.loads(real.read_text(encoding="utf-8"))

    edited = tmp_path / "edited.json"  # a lower seq, the node's signature kept
    doc["checkpoint"]["seq"] = 1
    edited.write_text(json.dumps(doc), encoding="utf-8")
    code, report = audit(capsys, "--checkpoint", str(edited))
    assert code == 1 and isinstance(report["checkpoint"], dict)
    assert report["checkpoint"]["verdict"] == "refused"
    assert "signature does not match" in report["checkpoint"]["reason"]

    # Well signed, by a key that is not the node's (an agency's certificate here).
    other = cpt.make(1, "a" * 64, T0, t.signer(UBND))
    forged = write(tmp_path / "forged", other)
    code, report = audit(capsys, "--checkpoint", str(forged.parent))
    assert code == 1 and isinstance(report["checkpoint"], dict)
    assert report["checkpoint"]["verdict"] == "refused"
    assert "is not the node's" in report["checkpoint"]["reason"]

    # The real one, untouched, holds.
    code, report = audit(capsys, "--checkpoint", str(real))
    assert code == 0 and isinstance(report["checkpoint"], dict)
    assert report["checkpoint"]["verdict"] == "ok"


def test_the_job_checkpoints_new_heads_only_and_refuses_to_sign_over_a_cut(
    t: TestNode,
) -> None:
    traffic(t, 1)
    checkpoint_now(t)
    checkpoint_now(t)  # nothing sealed since: no second checkpoint
    store = SqlCheckpoints(t.node.store.engine, checkpoints_dir(t))
    first = store.all()
    assert len(first) == 1 and len(files(checkpoints_dir(t))) == 1
    assert first[0].seq == t.node.store.journal_head()[0]
    # The row verifies as the file does: the same signed statement.
    latest = store.latest()
    assert latest is not None
    assert cpt.verify_signed(latest, trusted={first[0].node}) == first[0]

    traffic(t, 1, start=2)
    t.clock.advance(timedelta(seconds=300))
    checkpoint_now(t)
    assert [c.seq for c in store.all()] == [first[0].seq, t.node.store.journal_head()[0]]
    assert len(files(checkpoints_dir(t))) == 2

    # Cut behind the node's back (checkpoint rows too): the files still say more.
    cut_end(str(t.node.store.engine.url), 3)
    with pytest.raises(AxisError) as caught:
        checkpoint_now(t)
    assert caught.value.code.id == "node.journal_truncated"
    assert len(files(checkpoints_dir(t))) == 2  # nothing signed over the cut


def test_a_checkpoint_is_taken_when_the_background_stops(t: TestNode) -> None:
    traffic(t, 1)
    jobs = [j for j in node_jobs(t.node) if j.name == CHECKPOINT_JOB]
    background = Background(t.node, health=Heartbeats(), clock=t.clock, loops=[], jobs=jobs)
    background.start()
    _, raw = t.document(UBND, (NOI_VU,), 9)
    t.node.exchange.submit(raw)  # journaled, not yet sealed: the stop seals it
    background.stop()
    head = t.node.store.journal_head()[0]
    assert head == max(e.seq for e in t.node.store.journal())
    store = SqlCheckpoints(t.node.store.engine, checkpoints_dir(t))
    assert store.all()[-1].seq == head
    assert load(files(checkpoints_dir(t))[0]).checkpoint.seq == head


def test_axis_audit_checkpoint_makes_one_now(
    t: TestNode, as_cli: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    traffic(t, 1)
    as_cli.setenv("AXIS_DATA_DIR", str(t.node.settings.data_dir))
    assert main(["audit", "checkpoint"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["new"] is True and out["seq"] == t.node.store.journal_head()[0]
    assert Path(out["file"]).parent == checkpoints_dir(t)
    code, report = audit(capsys, "--checkpoint", out["file"])
    assert code == 0 and isinstance(report["checkpoint"], dict)
    assert report["checkpoint"]["verdict"] == "ok"


def test_check_by_itself() -> None:
    cp = cpt.Checkpoint(10, "b" * 64, T0, "c" * 64)
    assert cpt.check(10, "b" * 64, cp).verdict is cpt.Verdict.OK
    assert cpt.check(12, "b" * 64, cp).verdict is cpt.Verdict.OK
    assert cpt.check(9, None, cp).verdict is cpt.Verdict.TRUNCATED
    assert cpt.check(12, "d" * 64, cp).verdict is cpt.Verdict.ROLLED_BACK
    assert cpt.check(0, None, cpt.Checkpoint(0, "0" * 64, T0, "c" * 64)).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_matches_the_table_and_downgrades(backend: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from adapters.store import migrate
    from adapters.store.db import metadata

    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            assert "journal_checkpoints" in inspect(engine).get_table_names()
            with engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diffs = [d for d in compare_metadata(ctx, metadata)
                         if "journal_checkpoints" in repr(d)]
            assert diffs == []
            migrate.downgrade(engine, "0011_peer_provinces")
            assert "journal_checkpoints" not in inspect(engine).get_table_names()
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_takers_keep_one_checkpoint_per_head_and_a_cut_is_refused(
    backend: str, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL: several processes' jobs at once (threads here, each with
    its own export directory as on separate machines) keep one row per seal head, and
    each row verifies; a journal cut below it is refused."""
    import threading

    from route_support import route_store, seconds

    from adapters.store.checkpoint_tables import CHECKPOINT_TABLES
    from adapters.store.db import metadata
    from axis.trust.sign import NodeSigner, ensure_node_identity

    ident = ensure_node_identity(tmp_path / "id", T0)
    signer = NodeSigner.from_files(ident.key_path, ident.cert_path)
    with route_store(backend, tmp_path) as store:
        metadata.create_all(store.engine, tables=list(CHECKPOINT_TABLES))
        for i in range(6):
            with store.transaction() as tx:
                tx.append_journal(T0 + seconds(i), "delivery.queued", f"d{i}", {"i": i})
        assert not store.seal_journal(T0).broken
        takers = [SqlCheckpoints(store.engine, tmp_path / f"out{n}") for n in range(4)]
        start = threading.Barrier(len(takers))
        results: list[bool] = []
        failures: list[BaseException] = []

        def take(taker: SqlCheckpoints) -> None:
            start.wait()
            try:
                results.append(taker.take(T0 + seconds(60), signer).new)
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=take, args=(x,)) for x in takers]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=30)
        assert failures == [] and sorted(results) == [False, False, False, True]
        [row] = takers[0].all()
        assert (row.seq, row.head) == store.journal_head()
        latest = takers[0].latest()
        assert latest is not None and cpt.verify_signed(latest, trusted={row.node}) == row

        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM journal WHERE seq > 4")
            link = conn.exec_driver_sql("SELECT hash FROM journal WHERE seq = 4").scalar_one()
            conn.exec_driver_sql(f"UPDATE journal_head SET seq = 4, hash = '{link}'")
        with pytest.raises(AxisError) as caught:
            takers[0].take(T0 + seconds(120), signer)
        assert caught.value.code.id == "node.journal_truncated"
