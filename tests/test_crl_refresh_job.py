"""The CRL refresh runs on the server's scheduler (issue 8, item 2).

A CRL file replaced on disk is picked up by the scheduled job, run by APScheduler inside a
real server on the node's fixed clock, without a restart: a package from a certificate
revoked only in the new list is accepted before the job runs and refused after. A CRL
that is not refreshed turns stale, and readiness says so (the node would refuse every
signature of that CA); the job's last success and last error are on /metrics and
/health/delivery.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from admin_support import serve_app, start
from cryptography.hazmat.primitives.serialization import Encoding
from exchange_support import NOI_VU, T0, UBND, TestNode
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from adapters.jobs.background import Background
from adapters.rest.app import create_app
from axis import errors
from axis.errors import AxisError
from axis.health import Beat, Heartbeats
from axis.settings import TrustSettings
from axis.trust import pki

JOB = "trust.crl_refresh"


def write_crl(pki_dir: Path, target: Path, revoked: list[str], at: datetime) -> None:
    ca_key = pki.load_key(pki_dir / "ca.key")
    ca_cert = pki.load_certs(pki_dir / "ca.pem")[0]
    serials = [(pki.load_certs(pki_dir / f"{a}.pem")[0].serial_number, T0 - timedelta(hours=1))
               for a in revoked]
    crl = pki.make_crl(ca_key, ca_cert, serials, at)  # type: ignore[arg-type]
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(crl.public_bytes(Encoding.DER))
    tmp.replace(target)  # as an operator's copy would land: whole, at once


@pytest.fixture()
def crl_file(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Path:
    path = tmp_path / "ca.crl"
    write_crl(pki_dirs[0], path, [], T0 - timedelta(hours=2))
    return path


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path], crl_file: Path) -> Iterator[TestNode]:
    d, anchors = pki_dirs
    node = start(tmp_path, d, anchors,
                 trust=TrustSettings(anchors_dir=anchors, crl_files=(crl_file,)))
    yield node
    node.node.close()


@pytest.fixture()
def app(t: TestNode) -> FastAPI:
    return create_app(t.node.settings, t.node, t.clock)


def work(app: FastAPI) -> Background:
    bg = app.state.background
    assert isinstance(bg, Background)
    return bg


def job_beat(app: FastAPI, t: TestNode) -> Beat:
    health: Heartbeats = app.state.health
    return next(b for b in health.status(t.clock.now()) if b.name == JOB)


def run_job(app: FastAPI, t: TestNode, *, expect_success: bool) -> Beat:
    """Trigger the job on the scheduler's own thread and wait for its outcome."""
    before = job_beat(app, t)
    work(app).scheduler.trigger(JOB)
    pause = threading.Event()
    for _ in range(1000):
        now = job_beat(app, t)
        done = (now.last_success != before.last_success if expect_success
                else now.failures > before.failures)
        if done:
            return now
        pause.wait(0.02)
    raise AssertionError("the scheduled job did not run")


def metric(api: httpx.Client, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(api.get("/metrics").text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return None


def test_a_replaced_crl_is_picked_up_without_restart(
    t: TestNode, app: FastAPI, crl_file: Path, pki_dirs: tuple[Path, Path]
) -> None:
    with serve_app(app) as api:
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 1)[1])  # not revoked
        # The CA revokes UBND's certificate; the operator drops the new list in place.
        write_crl(pki_dirs[0], crl_file, [UBND], T0 - timedelta(minutes=30))
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 2)[1])  # the node's list: old
        t.clock.advance(timedelta(hours=1))
        beat = run_job(app, t, expect_success=True)
        assert beat.last_success == t.clock.now()
        with pytest.raises(AxisError) as refused:
            t.node.exchange.submit(t.document(UBND, (NOI_VU,), 3)[1])
        assert refused.value.code is errors.CERTIFICATE_REVOKED
        t.node.exchange.submit(t.document(NOI_VU, (UBND,), 4)[1])  # others still pass
        assert metric(api, "axis_job_last_success_timestamp_seconds", job=JOB) == (
            t.clock.now().timestamp())
        ages = {k: v for k, v in ((s.labels.get("source"), s.value) for f in
                text_string_to_metric_families(api.get("/metrics").text)
                for s in f.samples if s.name == "axis_crl_age_seconds")}
        assert ages == {str(crl_file): 0.0}


def test_a_crl_not_refreshed_turns_stale_and_readiness_says_so(
    t: TestNode, app: FastAPI, crl_file: Path
) -> None:
    with serve_app(app) as api:
        assert api.get("/readyz").status_code == 200
        crl_file.unlink()  # the source is gone: the job fails, the last good list stays
        t.clock.advance(timedelta(hours=6))
        beat = run_job(app, t, expect_success=False)
        assert beat.last_error.startswith("trust.revocation_unknown")
        delivery = api.get("/health/delivery").json()["background"][JOB]
        assert delivery["last_error_id"] == beat.last_error_id and delivery["failures"] == 1
        assert metric(api, "axis_job_last_error_timestamp_seconds", job=JOB) == (
            t.clock.now().timestamp())
        assert api.get("/readyz").status_code == 200  # 6 h old: still fresh (limit 48 h)

        t.clock.advance(timedelta(hours=43))  # 49 h since the last good refresh
        ready = api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["trust"] is False
        (reason,) = ready.json()["reasons"]
        assert reason.startswith(f"trust: CRL {crl_file} last refreshed")
        with pytest.raises(AxisError) as refused:  # what readiness warned of
            t.node.exchange.submit(t.document(UBND, (NOI_VU,), 5)[1])
        assert refused.value.code is errors.REVOCATION_UNKNOWN

        write_crl(t.pki_dir, crl_file, [], t.clock.now() - timedelta(hours=1))
        run_job(app, t, expect_success=True)
        assert api.get("/readyz").status_code == 200
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 6)[1])
