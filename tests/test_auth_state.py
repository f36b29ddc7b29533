"""The replay cache and the rate limits live in the node's database, shared by every
process (adapters/store/auth_state.py): their semantics on SQLite and PostgreSQL, the
atomicity of a take under concurrent engines, the purge job, and two real servers of two
nodes on one database refusing a replay and sharing one agency's bucket."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from exchange_support import NOI_VU, UBND, TestNode, start_node
from rest_support import serve
from sqlalchemy import Engine, func, select
from store_support import BACKENDS, database_url, migrated_engine

from adapters.client.agency import AgencyApiError, AgencyClient
from adapters.jobs.catalog import node_jobs
from adapters.store.auth_state import SqlAdmission, admission_engine
from adapters.store.auth_tables import AUTH_TABLES, auth_rate, auth_replay
from adapters.store.db import make_engine, metadata
from axis.auth.admission import Ticket, Verdict
from axis.auth.ratelimit import Bucket
from axis.errors import AxisError
from axis.settings import RestSettings


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path) as e:
        yield e


def test_the_migration_creates_what_auth_tables_declares(engine: Engine) -> None:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                 metadata)
    names = {t.name for t in AUTH_TABLES}
    assert [d for d in diffs if names & set(str(d).split("'"))] == []


def first_use(admission: SqlAdmission, system_id: str, signature: str, *,
              expires_at: float, now: float) -> bool:
    verdict = admission.admit(Ticket(system_id, signature, expires_at, system_id), now)
    return not verdict.replayed


def take(admission: SqlAdmission, key: str, now: float) -> int:
    """A token of `key`'s bucket, for a signature never seen before."""
    verdict = admission.admit(Ticket("sys", uuid.uuid4().hex * 2, 1e12, key), now)
    assert not verdict.replayed
    return verdict.wait


def test_replay_cache_remembers_until_expiry(engine: Engine) -> None:
    cache = SqlAdmission(admission_engine(engine), Bucket(1_000_000, 1_000_000))
    assert first_use(cache, "snv", "a" * 64, expires_at=100, now=0)
    assert not first_use(cache, "snv", "a" * 64, expires_at=100, now=50)
    assert first_use(cache, "snv", "b" * 64, expires_at=10, now=50)  # another signature
    assert first_use(cache, "vp", "a" * 64, expires_at=100, now=50)  # another system
    assert first_use(cache, "snv", "a" * 64, expires_at=200, now=101)  # expired: forgotten
    assert not first_use(cache, "snv", "a" * 64, expires_at=300, now=150)  # … kept again
    assert _count(engine, auth_replay) == 3
    cache.purge(now=150)  # b (10) and vp's (100) go; snv's a runs to 200
    assert _count(engine, auth_replay) == 1


def test_a_replay_spends_no_token(engine: Engine) -> None:
    admission = SqlAdmission(admission_engine(engine), Bucket(1, 2))
    ticket = Ticket("snv", "e" * 64, 1e12, "000.00.02.H37")
    assert admission.admit(ticket, 0.0) == Verdict()
    for _ in range(3):
        assert admission.admit(ticket, 0.0) == Verdict(replayed=True)
    assert take(admission, "000.00.02.H37", 0.0) == 0  # the second token is still there
    assert take(admission, "000.00.02.H37", 0.0) == 60


def test_token_bucket_per_key(engine: Engine) -> None:
    limit = SqlAdmission(admission_engine(engine), Bucket(rate_per_minute=30, burst=2))
    now = 1_795_485_600.0  # a token every 2 s
    assert [take(limit, "a", now), take(limit, "a", now)] == [0, 0]
    assert take(limit, "a", now) == 2
    assert take(limit, "b", now) == 0  # per key
    assert take(limit, "a", now + 1) == 1
    assert take(limit, "a", now + 2) == 0
    later = now + 3600
    assert [take(limit, "a", later) for _ in range(3)] == [0, 0, 2]
    assert take(limit, "a", later - 30) >= 1  # a clock stepping back refunds nothing
    # Idle for longer than a refill: the row is a full bucket and may go.
    limit.purge(later + 3.9)
    assert _count(engine, auth_rate) == 1  # b went (idle since `now`), a stays
    limit.purge(later + 4.1)
    assert _count(engine, auth_rate) == 0
    assert take(limit, "a", later + 5) == 0
    with pytest.raises(ValueError):
        Bucket(0, 1)


def test_takes_from_two_engines_at_once_grant_exactly_the_burst(
    engine: Engine,
) -> None:
    """Two engines stand for two processes: 8 threads, 60 takes, one bucket of 10 that
    does not refill meanwhile; exactly 10 are granted."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        limits = [SqlAdmission(admission_engine(e), Bucket(1, 10)) for e in (engine, other)]
        now = 1_795_485_600.0
        granted: list[int] = []
        start = threading.Barrier(8)

        def run(i: int) -> None:
            start.wait()
            for _ in range(60 // 8 + 1):
                if take(limits[i % 2], "000.00.00.H37", now) == 0:
                    granted.append(1)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert sum(granted) == 10
    finally:
        other.dispose()


def test_the_purge_job_is_scheduled_and_purges(t: TestNode) -> None:
    job = next(j for j in node_jobs(t.node) if j.name == "auth.purge")
    admission = SqlAdmission(t.node.engine, Bucket(120, 30))
    now = t.clock.now().timestamp()
    admission.admit(Ticket("snv", "c" * 64, now + 300, "000.00.02.H37"), now)
    job.fn(t.clock.now())
    assert _count(t.node.engine, auth_replay) == 1 and _count(t.node.engine, auth_rate) == 1
    job.fn(t.clock.now() + timedelta(minutes=16))  # past the window; the bucket refilled
    assert _count(t.node.engine, auth_replay) == 0 and _count(t.node.engine, auth_rate) == 0


def test_an_unreachable_database_is_the_nodes_fault(tmp_path: Path) -> None:
    gone = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    with pytest.raises(AxisError) as info:
        SqlAdmission(gone, Bucket(1, 1)).admit(Ticket("s", "d" * 64, 1.0, "s"), 0.0)
    assert info.value.code.id == "node.store_unavailable"


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_servers_on_one_database_share_replay_and_rate_limit(
    backend: str, tmp_path: Path, pki_dirs: tuple[Path, Path],
) -> None:
    with database_url(backend, tmp_path) as url:
        one = start_node(tmp_path, *pki_dirs, database_url=url)
        two = start_node(tmp_path, *pki_dirs, database_url=url)  # same data_dir: same key
        try:
            rest = RestSettings(rate_per_minute=1, burst=3)
            with serve(one, rest) as a, serve(two, rest) as b:
                _replay_and_limit(one, a.url, b.url, a.credential)
        finally:
            one.node.close()
            two.node.close()


def _replay_and_limit(t: TestNode, url_a: str, url_b: str, credential: object) -> None:
    sid, secret = credential(UBND)  # type: ignore[operator]

    def client(url: str, offset: float) -> AgencyClient:
        # Apart by `offset`: two clients of one fixed clock would sign the same timestamp.
        return AgencyClient(url, sid, secret, timeout=30,
                            clock=lambda: t.clock.now().timestamp() + offset)

    a, b = client(url_a, 0.0), client(url_b, 0.5)
    req = a.prepare("GET", "/v1/agencies")
    assert a.dispatch(req).status_code == 200  # token 1 (server A)
    # The same signed request, to the other server.
    again = httpx.Request("GET", f"{url_b}/v1/agencies", headers=req.headers)
    assert refused(lambda: b.dispatch(again)).code == "auth.replayed"
    a.agencies()  # token 2 (A)
    b.agencies()  # token 3 (B)
    assert refused(b.agencies).code == "auth.rate_limited"
    assert refused(a.agencies).status == 429  # and on A: one bucket for both
    # Another agency has its own bucket, on either server.
    sid2, secret2 = credential(NOI_VU)  # type: ignore[operator]
    assert AgencyClient(url_b, sid2, secret2, timeout=30,
                        clock=lambda: t.clock.now().timestamp()).agencies()
    t.clock.advance(timedelta(seconds=60))  # one token a minute
    a.agencies()


def refused(call: Callable[[], object]) -> AgencyApiError:
    with pytest.raises(AgencyApiError) as info:
        call()
    return info.value


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
