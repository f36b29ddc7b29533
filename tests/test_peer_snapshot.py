"""Signed, versioned registry snapshots between two Axis nodes (issue 10, item 5).

Two in-process nodes sharing a test CA, each serving its app with uvicorn on 127.0.0.1:
Lạng Sơn (A, H37) registers Nghệ An (B, H41) as an `axis` peer with B's node certificate,
pulls B's snapshot over HTTP and imports B's agencies as served by B. Forged, foreign,
unanchored, replayed and rolled-back snapshots are refused with `peer.snapshot_invalid`
and change nothing; an agency B retires is retired at A by the next snapshot.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from admin_support import ADMIN_TOKEN, TOKENS, bearer
from exchange_support import T0, TestNode, make_pki
from federation_support import serving

from adapters.cli.peer_cmd import run_snapshot
from adapters.federation.snapshot_http import PATH, Publisher, snapshot_url, snapshots_for
from adapters.node import build_node
from adapters.store.snapshot_repo import SqlSnapshotStore
from adapters.store.sync_repo import SqlSyncStore
from axis import errors
from axis.clock import FixedClock
from axis.errors import AxisError
from axis.federation.model import PeerKind
from axis.federation.snapshot import (
    FORMAT,
    PeerSnapshots,
    SignedSnapshot,
    build,
    canonical,
    parse,
    sign,
)
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.settings import AdminSettings, FederationSettings, Settings, TrustSettings
from axis.trust import pki
from axis.trust.sign import NodeSigner
from axis.trust.verdict import fingerprint

NA_UBND = "000.00.00.H41"
NA_SO_NV = "000.00.02.H41"
NA_SO_TC = "000.00.03.H41"  # A already reaches it through the national axis: a conflict


@dataclass
class Pair:
    __test__ = False

    a: TestNode
    b: TestNode
    a_url: str
    b_url: str
    pki_dir: Path
    other_ca: Path

    def snapshots(self) -> PeerSnapshots:
        return snapshots_for(self.a.node)

    def fetched(self) -> SignedSnapshot:
        answer = httpx.get(self.b_url + PATH, timeout=30)
        assert answer.status_code == 200
        return SignedSnapshot.from_json(answer.json())

    def state_at_a(self) -> tuple[object, ...]:
        """What a refused snapshot must leave as it was."""
        node = self.a.node
        held = SqlSnapshotStore(node.engine).held("h41")
        kinds = [e.kind for e in node.store.journal()]
        return (tuple(node.registry.export()), held,
                tuple(SqlSyncStore(node.engine).conflicts("h41")),
                kinds.count("peer.snapshot"))


def _settings(tmp: Path, name: str, anchors: Path, province: str) -> Settings:
    pki_dir = anchors.parent
    return Settings(data_dir=tmp / name, province=province,
                    trust=TrustSettings(anchors_dir=anchors,
                                        node_key=pki_dir / f"node-{name}.key",
                                        node_cert=pki_dir / f"node-{name}.pem"),
                    federation=FederationSettings(require_https=False),
                    admin=AdminSettings(tokens=TOKENS))


def _node(tmp: Path, name: str, anchors: Path, province: str) -> TestNode:
    ids = itertools.count(1)
    clock = FixedClock(T0)
    node = build_node(_settings(tmp, name, anchors, province), clock=clock,
                      new_id=lambda: f"{name}-{next(ids):06d}")
    return TestNode(node, clock, anchors.parent)


@contextmanager
def _serving(t: TestNode) -> Iterator[str]:
    """The node's app on 127.0.0.1 (tests/federation_support.py): its root URL."""
    with serving(t) as vdxp_url:
        yield vdxp_url.removesuffix("/vdxp")


@pytest.fixture()
def pair(tmp_path: Path) -> Iterator[Pair]:
    pki_dir = tmp_path / "pki"
    anchors = make_pki(pki_dir)
    for name in ("node-a", "node-b", "node-c"):  # c: the same CA, but not B's node key
        pki.issue(pki_dir, name, T0.replace(year=2025), days=3 * 365)
    other_ca = tmp_path / "other-ca"  # a CA this node does not trust
    pki.init_ca(other_ca, T0.replace(year=2025), name="Rogue CA")
    pki.issue(other_ca, "node-b", T0.replace(year=2025), days=3 * 365)
    a = _node(tmp_path, "a", anchors, "H37")
    b = _node(tmp_path, "b", anchors, "H41")
    try:
        b.node.registry.add(Agency(agency_id=NA_UBND, short_id="H41", name="UBND Nghệ An"),
                            actor="test", reason="peer test")
        for agency_id, short, name in ((NA_SO_NV, "H41.02", "Sở Nội vụ Nghệ An"),
                                       (NA_SO_TC, "H41.03", "Sở Tài chính Nghệ An")):
            b.node.registry.add(Agency(agency_id=agency_id, short_id=short, name=name,
                                       parent_id=NA_UBND, level=2),
                                actor="test", reason="peer test")
        a.node.registry.add(Agency(agency_id=NA_SO_TC, short_id=NA_SO_TC, name="Sở TC (QG)",
                                   kind=AgencyKind.EXTERNAL, served_by="national"),
                            actor="test", reason="reached through the national axis")
        with _serving(a) as a_url, _serving(b) as b_url:
            secret = tmp_path / "h41.secret"
            secret.write_text("unused-by-snapshots\n", encoding="utf-8")
            # B's own node certificate, and the rogue CA's certificate for "node-b" (listed,
            # so that only the chain check can refuse it).
            rogue_fp = fingerprint(pki.load_certs(other_ca / "node-b.pem")[0])
            a.node.peer_admin.add(
                name="h41", kind=PeerKind.AXIS, endpoint=b_url + "/vdxp/",
                system_id="peer-h37", secret_file=str(secret), actor="test",
                node_certificates=[fingerprint(b.node.signer.cert), rogue_fp])
            yield Pair(a, b, a_url, b_url, pki_dir, other_ca)
    finally:
        a.node.close()
        b.node.close()


def _refused(pair: Pair, signed: SignedSnapshot, why: str) -> None:
    before = pair.state_at_a()
    peer = pair.a.node.peer_admin.get("h41")
    with pytest.raises(AxisError) as caught:
        pair.snapshots().accept(peer, signed)
    assert caught.value.code is errors.PEER_SNAPSHOT_INVALID, caught.value
    assert why in caught.value.detail, caught.value.detail
    assert pair.state_at_a() == before


def _signed_by(pair: Pair, directory: Path, name: str, *, version: int) -> SignedSnapshot:
    signer = NodeSigner.from_files(directory / f"{name}.key", directory / f"{name}.pem")
    snap = build(pair.b.node.registry.export(), node="CN=forger", province="H41",
                 version=version, at=T0)
    return sign(snap, signer)


def test_the_published_snapshot_is_signed_canonical_and_public(pair: Pair) -> None:
    assert snapshot_url("https://h41.example/vdxp") == "https://h41.example" + PATH
    assert snapshot_url("https://h41.example/axis/vdxp/") == "https://h41.example/axis" + PATH
    answer = httpx.get(pair.b_url + PATH, timeout=30)  # no credentials at all
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"snapshot", "signature", "certificates"}
    raw = base64.b64decode(body["snapshot"])
    doc = json.loads(raw)
    assert doc["format"] == FORMAT and doc["province"] == "H41"
    assert doc["issued_at"].endswith("+07:00")
    assert [a["agency_id"] for a in doc["agencies"]] == [NA_UBND, NA_SO_NV, NA_SO_TC]
    assert doc["agencies"][1] == {"agency_id": NA_SO_NV, "short_id": "H41.02",
                                  "name": "Sở Nội vụ Nghệ An", "parent_id": NA_UBND,
                                  "level": 2, "state": "active"}
    assert canonical(parse(raw)) == raw  # one byte form for one value
    # Signed once per registry version: the same bytes until the registry moves.
    again = pair.fetched()
    assert again.raw == raw
    pair.b.node.registry.add(Agency(agency_id="000.00.04.H41", short_id="H41.04",
                                    name="Sở Tư pháp Nghệ An", parent_id=NA_UBND, level=2),
                             actor="test", reason="new agency")
    moved = parse(pair.fetched().raw)
    assert moved.version > doc["version"] and len(moved.agencies) == 4


def test_a_pulls_b_imports_its_agencies_and_shows_the_hash(pair: Pair) -> None:
    report = pair.snapshots().pull("h41")
    published = pair.fetched()
    assert report.held.sha256 == published.sha256  # what both administrators compare
    assert report.held.version == parse(published.raw).version
    assert report.held.agencies == 3
    reg = pair.a.node.registry
    for agency_id in (NA_UBND, NA_SO_NV):
        got = reg.resolve(agency_id)
        assert got.kind is AgencyKind.EXTERNAL and got.served_by == "h41"
        assert got.peer == "h41" and got.active
    assert reg.resolve(NA_SO_NV).parent_id == NA_UBND
    # Reached through the national axis already: never silently re-pointed, a conflict.
    assert reg.resolve(NA_SO_TC).served_by == "national"
    conflicts = SqlSyncStore(pair.a.node.engine).conflicts("h41")
    assert [(c.code, c.kind.value) for c in conflicts] == [(NA_SO_TC, "other_peer")]
    journal = [e for e in pair.a.node.store.journal() if e.kind == "peer.snapshot"]
    assert len(journal) == 1 and journal[0].payload["sha256"] == published.sha256
    assert journal[0].subject == "h41" and journal[0].payload["added"] == 2

    # The administrator sees the held snapshot (typed answer) at A's admin API.
    shown = httpx.get(pair.a_url + "/admin/v1/peers/h41/snapshot",
                      headers=bearer(ADMIN_TOKEN), timeout=30)
    assert shown.status_code == 200, shown.text
    assert shown.json()["sha256"] == published.sha256
    assert shown.json()["version"] == report.held.version
    assert shown.json()["received_at"].endswith("+07:00")
    nothing = httpx.get(pair.a_url + "/admin/v1/peers/h41/snapshot", timeout=30)
    assert nothing.status_code == 401


def test_refused_snapshots_change_nothing(pair: Pair) -> None:
    first = pair.fetched()
    # A forged signature: B's bytes with one name changed, B's signature kept.
    doc = json.loads(first.raw)
    doc["agencies"][0]["name"] = "Kẻ giả mạo"
    forged = replace(first, raw=json.dumps(doc, ensure_ascii=False, sort_keys=True,
                                           separators=(",", ":")).encode())
    _refused(pair, forged, "signature does not match")
    flipped = bytearray(first.signature)
    flipped[-1] ^= 1
    _refused(pair, replace(first, signature=bytes(flipped)), "signature does not match")
    # Signed by a certificate of the trusted CA that is not one of B's node certificates.
    _refused(pair, _signed_by(pair, pair.pki_dir, "node-c", version=10**9),
             "is not one of peer h41's node certificates")
    # Signed by a listed certificate that does not chain to the installed anchors.
    _refused(pair, _signed_by(pair, pair.other_ca, "node-b", version=10**9),
             "trust.certificate_untrusted")
    # Not a snapshot at all.
    _refused(pair, replace(first, raw=b"[]"), "not a registry snapshot")
    with pytest.raises(AxisError) as caught:
        SignedSnapshot.from_json({"snapshot": "@@", "signature": "", "certificates": ""})
    assert caught.value.code is errors.PEER_SNAPSHOT_INVALID
    assert pair.a.node.registry.find(NA_UBND) is None

    # Accepted once; the same version again, and an older one later, are refused.
    pair.snapshots().accept(pair.a.node.peer_admin.get("h41"), first)
    _refused(pair, first, "is not newer than the one held")
    pair.b.node.registry.update(replace(pair.b.node.registry.resolve(NA_SO_NV),
                                        name="Sở Nội vụ tỉnh Nghệ An"),
                                actor="test", reason="renamed")
    second = pair.snapshots().pull("h41")
    assert pair.a.node.registry.resolve(NA_SO_NV).name == "Sở Nội vụ tỉnh Nghệ An"
    assert second.held.version > parse(first.raw).version
    _refused(pair, first, "is not newer than the one held")  # a rollback


def test_an_agency_b_retires_is_retired_at_a(pair: Pair) -> None:
    pair.snapshots().pull("h41")
    assert pair.a.node.registry.resolve(NA_SO_NV).active
    pair.b.node.registry.retire(NA_SO_NV, actor="test", reason="merged")
    report = pair.snapshots().pull("h41")
    assert report.held.agencies == 2 and report.sync.retired == 1
    gone = pair.a.node.registry.resolve(NA_SO_NV)
    assert gone.state is AgencyState.RETIRED and gone.served_by == "h41"
    assert pair.a.node.registry.resolve(NA_UBND).active
    # The scheduled job's refresh: the version already held is no news.
    assert pair.snapshots().refresh("h41") is None


def test_the_cli_exports_and_pulls(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    settings_b, settings_a = pair.b.node.settings, pair.a.node.settings
    assert run_snapshot(argparse.Namespace(name=None, export=True, held=False),
                        settings_b) == 0
    out = capsys.readouterr()
    exported = SignedSnapshot.from_json(json.loads(out.out))
    assert f"sha256 {exported.sha256}" in out.err
    # The same registry version as B's server publishes (issued_at is the CLI's clock).
    served = parse(Publisher(pair.b.node).current().raw)
    assert parse(exported.raw).version == served.version
    assert parse(exported.raw).agencies == served.agencies
    code = run_snapshot(argparse.Namespace(name="h41", export=False, held=False), settings_a)
    out = capsys.readouterr()
    assert code == 1  # the open conflict on NA_SO_TC
    assert "sha256 " in out.out and pair.a.node.registry.resolve(NA_UBND).served_by == "h41"
    # Only Axis peers publish snapshots.
    secret = pair.pki_dir / "national.secret"
    secret.write_text("x\n", encoding="utf-8")
    pair.a.node.peer_admin.add(name="national", kind=PeerKind.VDXP,
                               endpoint="http://127.0.0.1:9/", system_id="axis-h37",
                               secret_file=str(secret), actor="test")
    with pytest.raises(AxisError) as caught:
        pair.snapshots().pull("national")
    assert caught.value.code is errors.PEER_INVALID


def test_the_scheduled_job_pulls_active_axis_peers(pair: Pair) -> None:
    from adapters.jobs.catalog import node_jobs

    job = next(j for j in node_jobs(pair.a.node) if j.name == "federation.snapshots")
    assert job.interval.total_seconds() == 6 * 3600  # federation.snapshot_hours
    job.fn(T0)
    held = SqlSnapshotStore(pair.a.node.engine).held("h41")
    assert held is not None and pair.a.node.registry.resolve(NA_UBND).served_by == "h41"
    job.fn(T0)  # nothing moved at B: no news, no failure
    assert SqlSnapshotStore(pair.a.node.engine).held("h41") == held
    pair.b.node.registry.retire(NA_SO_NV, actor="test", reason="merged")
    job.fn(T0)
    assert pair.a.node.registry.resolve(NA_SO_NV).state is AgencyState.RETIRED
    latest = SqlSnapshotStore(pair.a.node.engine).held("h41")
    assert latest is not None and latest.version > held.version
    pair.a.node.peer_admin.set_active("h41", False, actor="test")
    pair.b.node.registry.add(Agency(agency_id="000.00.04.H41", short_id="H41.04",
                                    name="Sở Tư pháp Nghệ An", parent_id=NA_UBND, level=2),
                             actor="test", reason="new agency")
    job.fn(T0)  # a disabled peer is not pulled
    assert SqlSnapshotStore(pair.a.node.engine).held("h41") == latest
    assert pair.a.node.registry.find("000.00.04.H41") is None
