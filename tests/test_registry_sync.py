"""The national registry sync (issue 10, item 1) against the simulated national axis
(tools/vdxp_sim as a child process, tests/federation_support.Sim): import, a version
bump, a deletion, conflicts shown and nothing overwritten, and this node's agencies
registered with the national axis and withdrawn — through the core, the CLI and the
admin API. Other centers change the simulator's registry the way they would: with their
own signed registerAgency and deleteAgency calls."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import ADMIN_TOKEN, bearer, serve, start
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from exchange_support import TU_PHAP, UBND, TestNode, make_pki
from federation_support import Sim
from sqlalchemy import inspect

from adapters.cli import main
from adapters.federation.sync_setup import registry_sync_for, units_of
from adapters.jobs.catalog import node_jobs
from adapters.store import migrate
from adapters.store.db import make_engine, metadata
from adapters.store.sync_tables import SYNC_TABLES
from adapters.vdxp.client import VdxpClient
from axis.clock import VN_TZ
from axis.federation.model import PeerKind
from axis.federation.registry_sync import ConflictKind, RegistrySync
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.settings import FederationSettings

SECRETS = {"axis-h37": "h37-secret", "axis-h40": "h40-secret", "axis-h41": "h41-secret"}
H40_UBND, H40_SO = "000.00.00.H40", "000.00.01.H40"
H40_OTHER_PEER = "000.00.05.H40"  # served here by the peer node "h40", listed by national
H41_UBND = "000.00.00.H41"
TWICE = "000.00.02.H42"  # listed twice, by two centers
OURS_UNKNOWN = "000.00.99.H37"  # the national axis says we serve it; we do not know it
CLAIMED_INTERNAL = "000.00.01.H37"  # ours, listed by national as served by H41
BAD = "vxp saas 02"  # an identifier the registry refuses (spaces)


def _unit(i: int, code: str, center: str, name: str = "", pid: int = 0) -> dict[str, Any]:
    return {"id": i, "code": code, "pid": pid, "name": name or f"Đơn vị {code.strip()}",
            "mail": "", "centerCode": center, "version": 1, "deleted": False,
            "modifyDate": "2025-01-01", "isAgency": True}


def sim_config() -> dict[str, Any]:
    return {
        "systems": [{"system_id": s, "secret": k, "center": s[-3:].upper()}
                    for s, k in SECRETS.items()],
        "units": [
            _unit(1, UBND, "H37", "UBND tỉnh Lạng Sơn"),
            _unit(2, OURS_UNKNOWN, "H37"),
            _unit(3, CLAIMED_INTERNAL, "H41"),
            _unit(200, H40_UBND, "H40", "UBND tỉnh H40"),
            _unit(201, H40_SO, "H40", "Sở Nội vụ tỉnh H40", pid=200),
            _unit(205, H40_OTHER_PEER, "H40"),
            _unit(300, H41_UBND, "H41", "UBND tỉnh Nghệ An"),
            # The real registry's data is messy: the same code with a trailing space is a
            # second row there, and the same unit here.
            _unit(400, TWICE, "H42"),
            _unit(401, TWICE + " ", "H43"),
            _unit(500, BAD, "H44"),
        ],
        # The node's clock is fixed in 2026-11-24: a window that admits it.
        "timestamp_window_hours": 24 * 3650,
    }


@dataclass
class World:
    __test__ = False

    sim: Sim
    t: TestNode
    sync: RegistrySync
    tmp: Path

    def center(self, system_id: str) -> VdxpClient:
        """Another center's own client of the national axis."""
        return VdxpClient(self.sim.url, system_id, SECRETS[system_id], http=self.http,
                          now=lambda: datetime.now(VN_TZ))

    @property
    def http(self) -> httpx.Client:
        return self.t.node.http

    def sim_unit(self, code: str) -> dict[str, object]:
        rows = self.center("axis-h41").synchronize_units()
        return next(r for r in rows if r["code"] == code)

    def agency(self, code: str) -> Agency:
        found = self.t.node.registry.find(code)
        assert found is not None, code
        return found


@contextmanager
def world(tmp: Path) -> Iterator[World]:
    pki_dir = tmp / "pki"
    anchors = make_pki(pki_dir)
    sim = Sim(tmp, sim_config())
    sim.start()
    t = None
    try:
        t = start(tmp, pki_dir, anchors, federation=FederationSettings(require_https=False))
        secret = tmp / "axis-h37.secret"
        secret.write_text(SECRETS["axis-h37"] + "\n", encoding="utf-8")
        t.node.peer_admin.add(name="national", kind=PeerKind.VDXP, endpoint=sim.url,
                              system_id="axis-h37", secret_file=str(secret), actor="test")
        reg = t.node.registry
        reg.add(Agency(agency_id=TWICE, short_id=TWICE, name="Tên cũ",
                       kind=AgencyKind.EXTERNAL, served_by="national"),
                actor="test", reason="known before the sync")
        reg.add(Agency(agency_id=H40_OTHER_PEER, short_id=H40_OTHER_PEER, name="Qua nút H40",
                       kind=AgencyKind.EXTERNAL, served_by="h40"),
                actor="test", reason="served by the H40 node directly")
        yield World(sim, t, registry_sync_for(t.node), tmp)
    finally:
        if t is not None:
            t.node.close()
        sim.stop()


def _journal(t: TestNode, kind: str) -> list[dict[str, object]]:
    return [e.payload for e in t.node.store.journal() if e.kind == kind]


def test_import_version_bump_deletion_and_conflicts(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        internal_before = w.agency(CLAIMED_INTERNAL)
        report = w.sync.sync("national")
        assert report.operation == "getSynchronizeUnit"
        # The seed knows H41's People's Committee already: updated, not added.
        assert (report.added, report.updated, report.retired, report.ours) == (2, 1, 0, 1)
        # Imported as external agencies served by the peer, parent resolved from pid.
        so = w.agency(H40_SO)
        assert (so.kind, so.served_by, so.parent_id) == (AgencyKind.EXTERNAL, "national",
                                                         H40_UBND)
        added = w.t.node.registry.history(H40_SO)[-1]
        assert (added.actor, added.action) == ("sync:national", "add")
        assert "version 1" in added.reason
        # Conflicts shown, nothing overwritten.
        found = {(c.code, c.kind) for c in report.conflicts}
        assert found == {(OURS_UNKNOWN, ConflictKind.OURS_UNKNOWN),
                         (CLAIMED_INTERNAL, ConflictKind.INTERNAL),
                         (H40_OTHER_PEER, ConflictKind.OTHER_PEER),
                         (TWICE, ConflictKind.CLAIMED_TWICE),
                         (BAD, ConflictKind.REFUSED)}
        assert "registry.invalid_identifier" in next(
            c.detail for c in report.conflicts if c.code == BAD)
        assert report.new_conflicts == 5
        assert w.agency(CLAIMED_INTERNAL) == internal_before
        assert w.t.node.registry.find(OURS_UNKNOWN) is None
        assert w.agency(TWICE).name == "Tên cũ"
        assert w.agency(H40_OTHER_PEER).served_by == "h40"
        [entry] = _journal(w.t, "registry.sync")
        assert (entry["added"], entry["conflicts"], entry["new_conflicts"]) == (2, 5, 5)

        # Nothing changed at the peer: every unit skipped, the conflicts still open and
        # not new (first seen kept).
        again = w.sync.sync("national")
        assert (again.added, again.updated, again.new_conflicts) == (0, 0, 0)
        assert again.unchanged == 4  # the three imported and our own unit
        assert {c.code: c.first_seen for c in again.conflicts} == {
            c.code: c.first_seen for c in report.conflicts}

        # H40 renames its unit (version 2): the name follows, with the version named.
        w.center("axis-h40").register_agency({
            "id": "", "pcode": "axis-h40", "code": H40_SO, "name": "Sở Nội vụ tỉnh H40 (mới)",
            "mail": "", "mobile": "", "fax": ""})
        bumped = w.sync.sync("national")
        assert (bumped.updated, bumped.added) == (1, 0)
        assert w.agency(H40_SO).name == "Sở Nội vụ tỉnh H40 (mới)"
        assert "version 2" in w.t.node.registry.history(H40_SO)[-1].reason

        # H41 withdraws its People's Committee: retired here, visible in its history.
        w.center("axis-h41").delete_agency(H41_UBND)
        gone = w.sync.sync("national")
        assert gone.retired == 1
        assert w.agency(H41_UBND).state is AgencyState.RETIRED
        last = w.t.node.registry.history(H41_UBND)[-1]
        assert (last.action, last.actor) == ("retire", "sync:national")
        # ... but the internal agency H41 also claims is never retired nor touched.
        assert w.agency(CLAIMED_INTERNAL) == internal_before

        # The administrator settles one conflict locally: the next run closes it.
        reg = w.t.node.registry
        reg.update(dataclasses.replace(w.agency(H40_OTHER_PEER), served_by="national"),
                   actor="test", reason="reached through the national axis from now on")
        settled = w.sync.sync("national")
        assert H40_OTHER_PEER not in {c.code for c in settled.conflicts}
        assert settled.updated == 1  # its name from the national registry
        closed = [c for c in w.sync.conflicts("national", open_only=False)
                  if c.code == H40_OTHER_PEER]
        assert closed and closed[0].resolved_at is not None
        assert len(_journal(w.t, "registry.sync")) == 5


def test_register_and_unregister_through_the_cli_and_the_admin_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with world(tmp_path) as w:
        settings = w.t.node.settings
        config = tmp_path / "axis.toml"
        config.write_text(
            f'data_dir = "{settings.data_dir}"\n'
            f'[trust]\nanchors_dir = "{settings.trust.anchors_dir}"\n'
            "[federation]\nrequire_https = false\n", encoding="utf-8")
        # The CLI: register one of our agencies; the national axis now says H37 serves it.
        code = main(["--config", str(config), "peer", "register", "national", TU_PHAP,
                     "--reason", "Sở Tư pháp nhận văn bản qua trục tỉnh", "--actor", "qtv"])
        assert code == 0
        printed = json.loads(capsys.readouterr().out)
        assert (printed["state"], printed["agency_id"]) == ("registered", TU_PHAP)
        unit = w.sim_unit(TU_PHAP)
        assert (unit["centerCode"], unit["deleted"]) == ("H37", False)
        assert _journal(w.t, "registry.register")[0]["actor"] == "qtv"
        # A sync sees it as ours: nothing imported, no conflict about it.
        assert main(["--config", str(config), "peer", "sync", "national"]) == 0
        capsys.readouterr()
        assert main(["--config", str(config), "peer", "units", "national", "--json"]) == 1
        listed = json.loads(capsys.readouterr().out)
        ours = {u["code"]: u["outcome"] for u in listed["units"]}
        assert ours[TU_PHAP] == "ours"
        assert TU_PHAP not in {c["code"] for c in listed["conflicts"]}
        assert w.agency(TU_PHAP).kind is AgencyKind.INTERNAL

        with serve(w.t) as client:
            auth = bearer(ADMIN_TOKEN)
            r = client.post("/admin/v1/peers/national/unregister", headers=auth,
                            json={"agency_id": TU_PHAP, "reason": "chuyển về trục khác"})
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "unregistered"
            assert w.sim_unit(TU_PHAP)["deleted"] is True
            # Only this node's own agencies are registered: never an external one.
            r = client.post("/admin/v1/peers/national/register", headers=auth,
                            json={"agency_id": H41_UBND, "reason": "thử"})
            assert r.status_code == 400 and "peer.invalid" in r.text
            r = client.post("/admin/v1/peers/national/sync", headers=auth)
            assert r.status_code == 200, r.text
            r = client.get("/admin/v1/peers/national/units", headers=auth)
            assert r.status_code == 200, r.text
            body = r.json()
            assert {c["kind"] for c in body["conflicts"]} == {
                "ours_unknown", "internal", "other_peer", "claimed_twice", "refused"}
            outcome = {u["code"]: u["outcome"] for u in body["units"]}
            assert outcome[TU_PHAP] == "ours"  # deleted at the peer: still ours here
            assert client.get("/admin/v1/peers/nowhere/units", headers=auth
                              ).status_code == 404
        assert [p["state"] for p in _journal(w.t, "registry.unregister")] == ["unregistered"]
        # The scheduled job: every 6 hours by default, each active vdxp peer.
        job = next(j for j in node_jobs(w.t.node) if j.name == "federation.registry_sync")
        assert job.interval == timedelta(hours=6)
        runs = len(_journal(w.t, "registry.sync"))
        job.fn(w.t.clock.now())
        assert len(_journal(w.t, "registry.sync")) == runs + 1


def test_lists_without_versions_get_a_digest_and_their_parents() -> None:
    # getAgenciesList(QD20): no center, no version; code102 is the QCVN 102 form.
    rows: list[dict[str, object]] = [
        {"id": 7, "code": "H40", "code102": H40_UBND, "pid": 0, "name": "UBND"},
        {"id": 8, "code": "H40.01", "code102": H40_SO, "pid": 7, "name": "Sở"},
    ]
    first = units_of(rows, versioned=False)
    assert [(u.code, u.parent_code, u.center) for u in first] == [
        (H40_UBND, "", ""), (H40_SO, H40_UBND, "")]
    assert first[0].version.startswith("h:")
    renamed = units_of([rows[0], {**rows[1], "name": "Sở mới"}], versioned=False)
    assert renamed[0].version == first[0].version
    assert renamed[1].version != first[1].version
    versioned = units_of([{"id": 1, "code": H40_UBND, "version": 3, "deleted": "true",
                           "centerCode": "H40"}], versioned=True)
    assert (versioned[0].version, versioned[0].deleted) == ("3", True)


def test_the_migration_creates_the_sync_tables_as_defined(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, metadata)
        mine = {t.name for t in SYNC_TABLES}
        assert mine <= set(inspect(engine).get_table_names())
        assert [d for d in diffs if mine & set(_names(d))] == []
        migrate.downgrade(engine, "0008_federation")
        assert not mine & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _names(diff: object) -> Iterator[str]:
    """Table names anywhere in a compare_metadata entry (nested tuples and lists; a
    column's entry names its table as a plain string)."""
    if isinstance(diff, str):
        yield diff
    elif isinstance(diff, (tuple, list)):
        for item in diff:
            yield from _names(item)
    elif hasattr(diff, "table") and hasattr(diff.table, "name"):
        yield str(diff.table.name)
    elif hasattr(diff, "name") and hasattr(diff, "columns"):
        yield str(diff.name)
