"""The registry is served from an in-memory snapshot refreshed by the registry's version
(axis/registry/live.py): a change made elsewhere (the admin API of another node, the CLI in
another process) reaches a running node within a second, a revoked credential is refused
on the very next request, and an authenticated request reads the registry's version and
nothing else of the registry from the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from admin_support import ADMIN_TOKEN, bearer, serve_app
from admin_support import serve as serve_admin
from admin_support import start as start_admin
from exchange_support import NOI_VU, T0, UBND, TestNode, start_node
from rest_support import RestNode
from rest_support import serve as serve_rest
from sqlalchemy import Engine, event
from store_support import BACKENDS, database_url, migrated_engine

from adapters.client.agency import AgencyApiError, AgencyClient
from adapters.rest.app import create_app
from adapters.store.registry_repo import SqlRegistryStore
from axis.clock import FixedClock
from axis.registry.model import Agency, AgencyState
from axis.registry.service import Registry
from axis.settings import RestSettings

WHO = {"actor": "test", "reason": "Công văn 7/STTTT"}
UNLIMITED = RestSettings(rate_per_minute=1_000_000, burst=1_000_000)


def within(seconds: float, check: Callable[[], bool]) -> float:
    """Poll `check` until true; the seconds it took. Fails past `seconds`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not visible within {seconds} s")
        time.sleep(0.01)  # a poll interval, not a synchronisation
    return time.monotonic() - start


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_registries_on_one_database_see_each_others_changes(
    backend: str, tmp_path: Path
) -> None:
    """B serves from its snapshot until its version check is due (a monotonic clock the
    test moves), then sees A's change; its credential check sees a revocation at once."""
    with migrated_engine(backend, tmp_path) as engine:
        other = _engine_like(engine)
        try:
            now = [0.0]
            a = Registry(SqlRegistryStore(engine), FixedClock(T0))
            b = Registry(SqlRegistryStore(other), FixedClock(T0), monotonic=lambda: now[0])
            a.add(Agency("000.00.00.H37", "", "UBND tỉnh"), **WHO)
            assert b.find("H37") is not None  # B's first read builds its snapshot
            secret = "s" * 43
            issued = a.issue_credential("H37", system_id="ubnd", secret_for=lambda _: secret,
                                        **WHO)
            a.add(Agency("000.00.02.H37", "", "Sở Nội vụ", parent_id="000.00.00.H37"), **WHO)
            assert b.find("H37.02") is None  # not yet: B's snapshot is younger than 0.5 s
            assert b.authenticate("ubnd", secret).agency_id == "000.00.00.H37"  # fresh: seen
            assert b.find("H37.02") is not None  # … and the snapshot it rebuilt serves all
            a.suspend("H37.02", **WHO)
            now[0] += 0.6
            assert b.resolve("000.00.02.H37").state is AgencyState.SUSPENDED
            assert b.speaks_for("H37", "H37.02")
            a.revoke_credential(issued.credential.system_id, **WHO)
            with pytest.raises(Exception, match=r"registry\.credential_invalid"):
                b.authenticate("ubnd", secret)  # no clock moved: the very next check
            assert b.credentials("H37")[0].revoked_at is not None
            # A's own changes are visible to A at once (read-your-writes in one process).
            a.bind_certificate("H37.02", "ab" * 32, **WHO)
            assert a.agency_for_certificate("AB" * 32) is not None
        finally:
            other.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_admin_api_changes_reach_another_running_node(
    backend: str, tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    """Node A serves the admin API, node B the agency API, on one database: a suspension
    through A reaches B within a second; a credential revoked through A is refused by B on
    the next request."""
    with database_url(backend, tmp_path) as url:
        a = start_admin(tmp_path, *pki_dirs, database_url=url)
        b = start_node(tmp_path, *pki_dirs, database_url=url)  # same data_dir and key
        try:
            with serve_admin(a) as admin, serve_rest(b, UNLIMITED) as rest:
                _admin_changes(admin, b, rest)
        finally:
            a.node.close()
            b.node.close()


def _admin_changes(admin: object, b: TestNode, rest: RestNode) -> None:
    import httpx

    assert isinstance(admin, httpx.Client)
    h = bearer(ADMIN_TOKEN)
    assert b.node.registry.find(NOI_VU).state is AgencyState.ACTIVE  # type: ignore[union-attr]
    done = admin.post(f"/admin/v1/agencies/{NOI_VU}/suspend", headers=h,
                      json={"reason": "Công văn 8/STTTT"})
    assert done.status_code == 200, done.text
    took = within(1.0, lambda: b.node.registry.find(NOI_VU).state  # type: ignore[union-attr]
                  is AgencyState.SUSPENDED)
    print(f"suspension visible to the other node after {took * 1000:.0f} ms")

    issued = admin.post(f"/admin/v1/agencies/{UBND}/credentials", headers=h,
                        json={"reason": "kết nối", "system_id": "ubnd-qlvb"})
    assert issued.status_code == 201, issued.text
    client = AgencyClient(rest.url, "ubnd-qlvb", issued.json()["secret"], timeout=30,
                          clock=lambda: b.clock.now().timestamp())
    client.agencies()  # B knows the new credential on its first request (fresh check)
    client.agencies()
    assert admin.post("/admin/v1/credentials/ubnd-qlvb/revoke", headers=h,
                      json={"reason": "lộ khóa"}).status_code == 200
    with pytest.raises(AgencyApiError) as refused:
        client.agencies()  # the very next request, at once
    assert refused.value.code == "registry.credential_invalid"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cli_change_in_another_process_reaches_a_running_node(
    backend: str, tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    with database_url(backend, tmp_path) as url:
        t = start_node(tmp_path, *pki_dirs, database_url=url)
        try:
            assert t.node.registry.find("H37.02").state is AgencyState.ACTIVE  # type: ignore[union-attr]
            env = os.environ | {"AXIS_DATA_DIR": str(t.node.settings.data_dir),
                                "AXIS_DATABASE_URL": url}
            env.pop("AXIS_CONFIG", None)
            subprocess.run([sys.executable, "-m", "adapters.cli", "registry", "suspend",
                            "H37.02", "--actor", "tester", "--reason", "Công văn 9/STTTT"],
                           env=env, check=True, capture_output=True, timeout=120)
            took = within(1.0, lambda: t.node.registry.find(  # type: ignore[union-attr]
                "H37.02").state is AgencyState.SUSPENDED)
            print(f"CLI change visible after {took * 1000:.0f} ms")
        finally:
            t.node.close()


@pytest.fixture()
def counted() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process sends while the test runs."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


REGISTRY_TABLES = ("agencies", "agency_certificates", "agency_credentials", "agency_history",
                   "registry_version")


def test_an_authenticated_request_reads_only_the_registry_version(
    t: TestNode, counted: list[str]
) -> None:
    """Per authenticated request: one single-row read of the registry (its version), one
    replay insert, one bucket update; `GET /v1/agencies` itself lists from the snapshot.
    Design check (not a timing): the old code read credential, agency and certificates
    (and listed the registry) from the database on every request."""
    settings = t.node.settings.model_copy(update={"rest": UNLIMITED})
    app = create_app(settings, t.node, t.clock, background=False)
    issued = t.node.registry.issue_credential(
        UBND, system_id="ubnd-count", secret_for=app.state.agency_auth.gate.secret_for, **WHO)
    with serve_app(app) as http:  # a real server; no background loops in this app
        client = AgencyClient(str(http.base_url), "ubnd-count", issued.secret,
                              clock=lambda: t.clock.now().timestamp())
        client.agencies()  # the first builds the snapshot
        counted.clear()
        n = 5
        for _ in range(n):
            client.agencies()
    registry = [s for s in counted if any(f" {name}" in s for name in REGISTRY_TABLES)]
    assert len(registry) == n, registry  # the version, once a request
    assert all("registry_version" in s for s in registry)
    assert len(counted) <= 3 * n, counted


def _engine_like(engine: Engine) -> Engine:
    from adapters.store.db import make_engine

    return make_engine(engine.url.render_as_string(hide_password=False))
