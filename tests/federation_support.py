"""A test federation: the simulated national axis (tools/vdxp_sim, written from vdxp.md
alone) as a real child process, and two provincial nodes — Lạng Sơn (H37) and Nghệ An
(H41) — each with its own database, registry and node key, sharing one test CA (as
provinces share the national PKI), each registered with the national axis as a member
system and each naming it as its peer `national`.

The nodes run in this process with fixed clocks so the tests drive every step (deliver,
forward, poll, take); the simulator's timestamp window is wide for that reason.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange_support import SEED, SIGNERS, T0, TestNode, make_pki

from adapters.node import build_node
from axis.clock import FixedClock
from axis.federation.model import PeerKind
from axis.registry import codec
from axis.registry.model import Agency, AgencyKind
from axis.settings import FederationSettings, Settings, TrustSettings, VdxpSettings
from axis.trust import pki
from axis.trust.verdict import fingerprint
from tools.federation.testbed import connects, free_port

REPO = Path(__file__).resolve().parent.parent
START_S = 60.0
NA_UBND = "000.00.00.H41"  # Ủy ban nhân dân tỉnh Nghệ An
NA_SO_NV = "000.00.02.H41"  # Sở Nội vụ Nghệ An
NA_AGENCIES = (NA_UBND, NA_SO_NV)
SECRETS = {"axis-h37": "h37-secret", "axis-h41": "h41-secret"}


def _unit(i: int, code: str, name: str, center: str) -> dict[str, Any]:
    return {"id": i, "code": code, "pid": 0, "name": name, "mail": "", "centerCode": center,
            "version": 1, "deleted": False, "modifyDate": "2025-01-01", "isAgency": True}


def sim_config() -> dict[str, Any]:
    units = [_unit(i + 1, a, a, "H37") for i, a in enumerate(SIGNERS)]
    units += [_unit(100 + i, a, a, "H41") for i, a in enumerate(NA_AGENCIES)]
    return {"systems": [{"system_id": s, "secret": k, "center": s[-3:].upper()}
                        for s, k in SECRETS.items()],
            "units": units,
            # The nodes' clocks are fixed in 2026-11-24: a window that admits them.
            "timestamp_window_hours": 24 * 3650}


class Sim:
    """The simulated national axis as a child process; kill -9 and restart keep its data."""

    def __init__(self, tmp: Path, config: dict[str, Any]) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp / "sim-config.json"
        self.config.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        self.data = tmp / "sim-data"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.tmp / f"sim-{self.starts}.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tools.vdxp_sim", "--host", "127.0.0.1",
                 "--port", str(self.port), "--config", str(self.config),
                 "--data-dir", str(self.data)],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + START_S
        line = f"vdxp-sim running on {self.url}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"simulator exited: {log.read_text(errors='replace')}")
            if line in log.read_text(errors="replace") and connects(self.port):
                return
            time.sleep(0.05)  # polling a child's readiness with a deadline
        raise AssertionError(f"simulator not ready in {START_S}s: {log.read_text()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@dataclass
class Federation:
    __test__ = False

    sim: Sim
    ls: TestNode  # Lạng Sơn, H37
    na: TestNode  # Nghệ An, H41

    def step(self, rounds: int = 3) -> None:
        """Move everything one hop at a time on both nodes: the delivery worker (outbox
        → inboxes, the 01s owed), forwarding to the national axis, polling it."""
        for _ in range(rounds):
            for t in (self.ls, self.na):
                t.node.worker.run_once()
                t.node.exchange.emit_due_arrivals()
                t.node.worker.run_once()
                t.node.channels.run_once()
            for t in (self.ls, self.na):
                t.node.intake.poll_all()


def _settings(tmp: Path, name: str, anchors: Path, province: str, **extra: Any) -> Settings:
    # The node key from the shared CA: the other province verifies this node's 01s.
    pki_dir = anchors.parent
    return Settings(data_dir=tmp / name, province=province,
                    trust=TrustSettings(anchors_dir=anchors,
                                        node_key=pki_dir / f"node-{name}.key",
                                        node_cert=pki_dir / f"node-{name}.pem"),
                    federation=FederationSettings(require_https=False, base_delay_seconds=1,
                                                  max_delay_seconds=1, urgent_factor=0.5),
                    **extra)


def external_agency(agency_id: str) -> Agency:
    return Agency(agency_id=agency_id, short_id=agency_id, name=f"Cơ quan {agency_id}",
                  kind=AgencyKind.EXTERNAL, served_by="national")


def _node(tmp: Path, name: str, settings: Settings, pki_dir: Path) -> TestNode:
    clock = FixedClock(T0)
    ids = itertools.count(1)
    node = build_node(settings, clock=clock, new_id=lambda: f"{name}-{next(ids):06d}")
    return TestNode(node, clock, pki_dir)


def node_fingerprint(pki_dir: Path, name: str) -> str:
    return fingerprint(pki.load_certs(pki_dir / f"node-{name}.pem")[0])


def _peer(t: TestNode, tmp: Path, sim: Sim, system_id: str, other: str, **kw: Any) -> None:
    secret = tmp / f"{system_id}.secret"
    secret.write_text(SECRETS[system_id] + "\n", encoding="utf-8")
    # Through the national axis, the other province's node signs its 01s.
    t.node.peer_admin.add(name="national", kind=PeerKind.VDXP, endpoint=sim.url,
                          system_id=system_id, secret_file=str(secret), actor="test",
                          node_certificates=[node_fingerprint(t.pki_dir, other)], **kw)


@contextmanager
def federation(tmp: Path, *, sim_extra: dict[str, Any] | None = None,
               **peer_options: Any) -> Iterator[Federation]:
    pki_dir = tmp / "pki"
    anchors = make_pki(pki_dir)
    for agency_id in (*NA_AGENCIES, "node-ls", "node-na"):
        pki.issue(pki_dir, agency_id, T0.replace(year=2025), days=3 * 365)
    sim = Sim(tmp, {**sim_config(), **(sim_extra or {})})
    sim.start()
    ls = na = None
    try:
        ls = _node(tmp, "ls", _settings(tmp, "ls", anchors, "H37"), pki_dir)
        ls.node.registry.import_rows(codec.load_json(SEED.read_text(encoding="utf-8")),
                                     actor="test", reason="seed", only_new=True)
        for agency_id in NA_AGENCIES:  # the seed knows some agencies of other provinces
            if ls.node.registry.find(agency_id) is None:
                ls.node.registry.add(external_agency(agency_id), actor="test", reason="peer test")
        na = _node(tmp, "na", _settings(tmp, "na", anchors, "H41"), pki_dir)
        na.node.registry.add(Agency(agency_id=NA_UBND, short_id="H41", name="UBND Nghệ An"),
                             actor="test", reason="peer test")
        na.node.registry.add(Agency(agency_id=NA_SO_NV, short_id="H41.02",
                                    name="Sở Nội vụ Nghệ An", parent_id=NA_UBND),
                             actor="test", reason="peer test")
        for agency_id in SIGNERS:
            na.node.registry.add(external_agency(agency_id), actor="test", reason="peer test")
        _peer(ls, tmp, sim, "axis-h37", "na", **peer_options)
        _peer(na, tmp, sim, "axis-h41", "ls", **peer_options)
        yield Federation(sim, ls, na)
    finally:
        for t in (ls, na):
            if t is not None:
                t.node.close()
        sim.stop()



@contextmanager
def serving(t: TestNode, vdxp: VdxpSettings | None = None) -> Iterator[str]:
    """The node's app on 127.0.0.1 (no background: the test drives every step); its
    /vdxp/ base URL (the app's root is that without `/vdxp`)."""
    import threading

    import uvicorn
    from rest_support import _Server

    from adapters.rest.app import create_app

    settings = t.node.settings if vdxp is None else t.node.settings.model_copy(
        update={"vdxp": vdxp})
    app = create_app(settings, t.node, t.clock, background=False)
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                    lifespan="on", proxy_headers=False))
    thread = threading.Thread(target=server.run, name="uvicorn-peer", daemon=True)
    thread.start()
    try:
        assert server.ready.wait(30) and server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/vdxp"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def direct(f: Federation, tmp: Path) -> Iterator[None]:
    """Lạng Sơn and Nghệ An peer directly, Axis to Axis, each through the other's /vdxp/
    listener (a peer system there: `vdxp.systems[].peer`); each other's agencies are
    re-pointed from the national axis to that peer (served_by)."""
    from dataclasses import replace

    from axis.auth import keys, signing
    from axis.settings import VdxpSystem

    def listener(peer_name: str, caller_id: str) -> VdxpSettings:
        return VdxpSettings(enabled=True, systems=(VdxpSystem(
            system_id=caller_id, addresses=(ipaddress.ip_network("127.0.0.1/32"),),
            peer=peer_name,
            timestamp_window_minutes=24 * 60),))

    with serving(f.ls, listener("h41", "peer-na")) as ls_url, \
            serving(f.na, listener("h37", "peer-ls")) as na_url:
        for me, other_url, peer_name, my_id, other, other_name in (
                (f.ls, na_url, "h41", "peer-ls", f.na, "na"),
                (f.na, ls_url, "h37", "peer-na", f.ls, "ls")):
            # The secret the other node derives for my system id there.
            secret = signing.derive_secret(keys.master_key(other.node.settings), my_id)
            path = tmp / f"{peer_name}.secret"
            path.write_text(secret, encoding="utf-8")
            me.node.peer_admin.add(
                name=peer_name, kind=PeerKind.AXIS, endpoint=other_url, system_id=my_id,
                secret_file=str(path), actor="test",
                node_certificates=[node_fingerprint(me.pki_dir, other_name)])
        for me, ids, peer_name in ((f.ls, NA_AGENCIES, "h41"), (f.na, SIGNERS, "h37")):
            for agency_id in ids:
                a = me.node.registry.resolve(agency_id)
                me.node.registry.update(replace(a, served_by=peer_name), actor="test",
                                        reason="direct peering")
        yield
