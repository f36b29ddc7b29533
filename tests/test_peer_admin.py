"""Operators' view of peers (issue 10, item 6): the admin API and the CLI add, list, show
and resend; /metrics has the per-peer figures; /readyz degrades (200) when a peer has
failed longer than its bound. A real node served by uvicorn; the peer is a closed port."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from admin_support import ADMIN_TOKEN, OPERATOR_TOKEN, bearer, serve, start
from exchange_support import UBND, TestNode

from adapters.cli import peer_cmd
from axis.errors import AxisError
from axis.route.model import DeliveryState
from axis.settings import FederationSettings
from tools.federation.testbed import free_port

EXTERNAL = "000.00.00.H41"  # in the seed: an agency of another province


@pytest.fixture()
def pt(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    t = start(tmp_path, *pki_dirs, federation=FederationSettings(
        require_https=False, max_attempts=2, base_delay_seconds=1, max_delay_seconds=1))
    yield t
    t.node.close()


def add_body(tmp: Path, name: str = "national") -> dict[str, object]:
    secret = tmp / f"{name}.secret"
    secret.write_text("s3cret", encoding="utf-8")
    # A port nothing listens on once its socket is closed: every call fails to connect.
    return {"name": name, "kind": "vdxp", "endpoint": f"http://127.0.0.1:{free_port()}",
            "system_id": "H37-AXIS", "secret_file": str(secret),
            "admit_unsigned": ["*"], "unreachable_after_s": 60}


def test_admin_api_add_list_show_resend_metrics_and_readiness(
        pt: TestNode, tmp_path: Path) -> None:
    with serve(pt) as api:
        body = add_body(tmp_path)
        r = api.post("/admin/v1/peers", json=body, headers=bearer(OPERATOR_TOKEN))
        assert r.status_code == 403  # an operator reads; only an admin adds
        r = api.post("/admin/v1/peers", json=body, headers=bearer(ADMIN_TOKEN))
        assert r.status_code == 201, r.text
        assert r.json()["admit_unsigned"] == ["*"] and "s3cret" not in r.text
        again = api.post("/admin/v1/peers", json=body, headers=bearer(ADMIN_TOKEN))
        assert again.status_code == 400 and again.json()["code"] == "peer.invalid"
        assert api.get("/admin/v1/peers/nobody", headers=bearer(OPERATOR_TOKEN)
                       ).json()["code"] == "peer.unknown"

        # A copy for the external agency: forwarding fails (nothing listens), twice.
        _, raw = pt.document(UBND, (EXTERNAL,), 1)
        [copy] = pt.node.exchange.submit(raw).deliveries
        pt.deliver_all()
        for _ in range(2):
            pt.node.channels.run_once()
            pt.clock.advance(timedelta(seconds=5))
        with pt.node.store.reading() as tx:
            d = tx.get_delivery(copy.delivery_id)
        assert d is not None and d.state is DeliveryState.FAILED
        [view] = api.get("/admin/v1/peers", headers=bearer(OPERATOR_TOKEN)).json()["peers"]
        assert view["backlog"]["dead_letters"] == 1 and view["backlog"]["waiting"] == 0
        assert view["failing_since"] is not None and view["unreachable"] is False

        metrics = api.get("/metrics", headers=bearer(OPERATOR_TOKEN)).text
        assert 'axis_peer_dead_letters{peer="national"} 1.0' in metrics
        assert 'axis_peer_unreachable{peer="national"} 0.0' in metrics

        ready = api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
        pt.clock.advance(timedelta(seconds=61))
        ready = api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert any(r.startswith("peer national: unreachable") for r in ready.json()["reasons"])

        r = api.post("/admin/v1/peers/national/resend", json={"reason": "axis back"},
                     headers=bearer(ADMIN_TOKEN))
        assert r.status_code == 200 and r.json()["resent"] == [copy.delivery_id]
        with pt.node.store.reading() as tx:
            d = tx.get_delivery(copy.delivery_id)
        assert d is not None and d.state is DeliveryState.AVAILABLE
        r = api.post("/admin/v1/peers/national/resend",
                     json={"reason": "again", "delivery_ids": ["not-a-dead-letter"]},
                     headers=bearer(ADMIN_TOKEN))
        assert r.status_code == 400 and r.json()["code"] == "peer.invalid"
        journal = [e.kind for e in pt.node.store.journal()]
        assert {"peer.added", "delivery.peer_failed", "delivery.failed", "peer.resend",
                "delivery.requeued"} <= set(journal)


def test_cli_add_list_status(pt: TestNode, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    settings = pt.node.settings
    pt.node.close()  # the CLI builds its own node on the same database
    body = add_body(tmp_path, "h41")
    args = argparse.Namespace(
        name="h41", kind="axis", endpoint=body["endpoint"], system_id="peer-h37",
        secret_file=body["secret_file"], admit_unsigned=[], node_cert=[], province=["H41"],
        unreachable_after=900, note="Nghệ An", actor="cli-test")
    assert peer_cmd.run_add(args, settings) == 0
    assert peer_cmd.run_list(argparse.Namespace(json=True), settings) == 0
    out = capsys.readouterr().out
    listed = json.loads(out.splitlines()[-1])
    assert [p["name"] for p in listed] == ["h41"] and listed[0]["kind"] == "axis"
    assert peer_cmd.run_status(argparse.Namespace(json=False), settings) == 0
    assert "h41" in capsys.readouterr().out
    bad = argparse.Namespace(**{**vars(args), "name": "Bad Name"})
    with pytest.raises(AxisError, match=r"peer\.invalid"):
        peer_cmd.run_add(bad, settings)


def test_peer_add_refuses_what_cannot_work(pt: TestNode, tmp_path: Path) -> None:
    with serve(pt) as api:
        for change, field in (({"endpoint": "ftp://x"}, "endpoint"),
                              ({"name": "UPPER"}, "name")):
            body = {**add_body(tmp_path), **change}
            r = api.post("/admin/v1/peers", json=body, headers=bearer(ADMIN_TOKEN))
            assert r.status_code == 400 and r.json()["code"] == "peer.invalid", field
        assert httpx.codes.is_success(
            api.get("/admin/v1/peers", headers=bearer(OPERATOR_TOKEN)).status_code)
