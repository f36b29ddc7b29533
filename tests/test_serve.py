"""`axis serve` starts a real uvicorn server on 127.0.0.1 and answers /healthz, /readyz."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "AXIS_DATA_DIR": str(tmp_path / "var")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )
    assert proc.stderr is not None
    port = None
    seen = []
    try:
        # Uvicorn logs its bound address once listening: that line is the readiness signal.
        for line in proc.stderr:
            seen.append(line)
            m = RUNNING.search(line)
            if m:
                port = m.group(1)
                break
        assert port, "".join(seen)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_healthz_and_readyz(server: str, tmp_path: Path) -> None:
    r = httpx.get(f"{server}/healthz", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert datetime.fromisoformat(body["time"]).utcoffset() == timedelta(hours=7)
    r = httpx.get(f"{server}/readyz", timeout=5)
    assert r.status_code == 200
    # Readiness: can the node accept? (the broker is delivery's concern: /health/delivery)
    assert r.json()["checks"] == {"disk": True, "database": True, "trust": True}
    r = httpx.get(f"{server}/health/delivery", timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"broker": True, "background": True, "stranded": True}
    assert {"delivery", "push", "trust.crl_refresh"} <= set(r.json()["background"])
    assert (tmp_path / "var").is_dir()


def test_openapi_is_published(server: str) -> None:
    r = httpx.get(f"{server}/openapi.json", timeout=5)
    assert r.status_code == 200
    assert "/healthz" in r.json()["paths"]
