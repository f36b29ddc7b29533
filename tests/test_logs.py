"""Logs an operator can use (issue 8, item 3).

- A real `axis serve` (a subprocess, stderr not a terminal): every line is JSON with an
  ISO 8601 +07:00 timestamp, uvicorn's own lines included; one access line per request
  (uvicorn's access log replaced) with the request id, status, code, error id, duration;
  a refusal's error id — REST and SOAP — is in the log; `X-Request-Id` on every answer,
  a proxy's own id kept only from a trusted proxy.
- A real server in-process: the authenticated agency and operation reach the access line.
- A dead broker's repeated fault, from the real delivery loop: logged once, then one line
  per interval with the count of repeats suppressed; refusals are never suppressed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchange_support import NOI_VU, UBND, TestNode, start_node
from rest_support import serve

from adapters import logs
from adapters.amqp.memory import InProcessBroker
from adapters.rest import errors as rest_errors
from axis import errors
from axis.health import Heartbeats, LoopGuard
from axis.route.broker import BrokerMessage
from axis.settings import RestSettings

RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
UUID_HEX = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Served:
    url: str
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(line) for line in self.lines]  # every line is JSON

    def wait_for(self, pred: Any, what: str, seconds: float = 20) -> dict[str, Any]:
        pause = threading.Event()
        for _ in range(int(seconds / 0.05)):
            found = [r for r in self.records() if pred(r)]
            if found:
                return found[0]
            pause.wait(0.05)
        raise AssertionError(f"no log line with {what}:\n" + "\n".join(self.lines[-30:]))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`axis serve` on the embedded default, 127.0.0.1 trusted as a proxy."""
    data = tmp_path_factory.mktemp("serve") / "var"
    env = {**os.environ, "AXIS_DATA_DIR": str(data),
           "AXIS_REST__TRUSTED_PROXIES": '["127.0.0.1"]'}
    env.pop("AXIS_LOG_FORMAT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    assert proc.stderr is not None
    port: list[str] = []
    ready = threading.Event()
    out = Served("")

    def read() -> None:  # keeps reading: a full pipe would block the server
        assert proc.stderr is not None
        for line in proc.stderr:
            with out.lock:
                out.lines.append(line)
            m = RUNNING.search(line)
            if m and not port:
                port.append(m.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60) and port, "".join(out.lines)
        out.url = f"http://127.0.0.1:{port[0]}"
        yield out
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        reader.join(10)


def test_serve_logs_json_lines_with_vietnam_time(served: Served) -> None:
    httpx.get(f"{served.url}/healthz", timeout=10)
    served.wait_for(lambda r: r.get("event") == "request" and r.get("path") == "/healthz",
                    "the access line of /healthz")
    records = served.records()
    for r in records:
        when = datetime.fromisoformat(r["timestamp"])
        assert when.utcoffset() == timedelta(hours=7), r
        assert r["level"] and r["logger"] and "event" in r
    started = next(r for r in records if RUNNING.search(r["event"]))
    assert started["logger"] == "uvicorn.error"  # uvicorn's own lines: JSON too
    assert not any(r["logger"] == "uvicorn.access" for r in records)  # replaced by ours


def test_a_refusal_s_error_id_is_in_the_log(served: Served) -> None:
    r = httpx.get(f"{served.url}/v1/agencies", headers={"X-Axis-System-Id": "H37.x-1"},
                  timeout=10)
    assert r.status_code == 401
    eid, code = r.json()["error_id"], r.json()["code"]
    rid = r.headers["X-Request-Id"]
    assert UUID_HEX.match(rid)
    access = served.wait_for(lambda x: x.get("event") == "request" and
                             x.get("error_id") == eid, "the access line of the refusal")
    assert access["logger"] == "axis.access"
    assert access["request_id"] == rid and access["status"] == 401
    assert access["code"] == code and access["method"] == "GET"
    assert access["path"] == "/v1/agencies" and access["operation"] == "/v1/agencies"
    assert access["system_id"] == "H37.x-1" and access["agency"] is None
    assert isinstance(access["duration_ms"], float) and access["client"] == "127.0.0.1"
    refused = served.wait_for(lambda x: x.get("event") == "refused" and
                              x.get("error_id") == eid, "the refusal line")
    assert refused["code"] == code and refused["request_id"] == rid
    assert refused["status"] == 401 and refused["level"] == "info"


def test_a_soap_fault_s_error_id_is_in_the_log(served: Served) -> None:
    r = httpx.post(f"{served.url}/soap/11", content=b"<x/>", timeout=10,
                   headers={"Content-Type": "text/xml; charset=utf-8"})
    assert r.status_code >= 400
    m = re.search(r"error_id>([0-9a-f-]{36})<", r.text)
    assert m, r.text
    access = served.wait_for(lambda x: x.get("event") == "request" and
                             x.get("error_id") == m.group(1), "the SOAP fault's access line")
    assert access["request_id"] == r.headers["X-Request-Id"]
    assert access["path"] == "/soap/11" and access["code"].startswith("auth.")
    assert access["operation"] == "soap"  # refused before the body named one
    served.wait_for(lambda x: x.get("event") == "refused" and x.get("error_id") == m.group(1)
                    and x.get("soap") == "1.1", "the SOAP refusal line")


def test_request_id_from_a_trusted_proxy_is_kept(served: Served) -> None:
    r = httpx.get(f"{served.url}/healthz", headers={"X-Request-Id": "lb-7f3a.01"}, timeout=10)
    assert r.headers["X-Request-Id"] == "lb-7f3a.01"
    served.wait_for(lambda x: x.get("event") == "request" and
                    x.get("request_id") == "lb-7f3a.01", "the proxy's request id")
    # Not an id anyone could search by: replaced even from the trusted proxy.
    r = httpx.get(f"{served.url}/healthz", headers={"X-Request-Id": "a b\x7f"}, timeout=10)
    assert UUID_HEX.match(r.headers["X-Request-Id"])


def test_request_id_from_anyone_else_is_replaced_and_the_agency_is_logged(
    t: TestNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="axis.access")
    with serve(t, RestSettings(trusted_proxies=())) as rest:  # the default: nobody
        r = httpx.get(f"{rest.url}/healthz", headers={"X-Request-Id": "forged-1"}, timeout=10)
        assert r.headers["X-Request-Id"] != "forged-1" and UUID_HEX.match(
            r.headers["X-Request-Id"])
        missing = httpx.get(f"{rest.url}/nowhere", timeout=10)  # errors carry it as well
        assert UUID_HEX.match(missing.headers["X-Request-Id"])
        client = rest.client(UBND)
        answer = client.request("GET", "/v1/agencies")
        rid = answer.headers["X-Request-Id"]
    lines = [rec for rec in caplog.records if rec.name == "axis.access"]
    signed = next(rec for rec in lines if rec.request_id == rid)  # type: ignore[attr-defined]
    assert signed.agency == UBND and signed.status == 200  # type: ignore[attr-defined]
    assert signed.system_id == client.system_id  # type: ignore[attr-defined]
    assert signed.operation == "/v1/agencies"  # type: ignore[attr-defined]


class DeadBroker(InProcessBroker):
    def __init__(self) -> None:
        super().__init__()
        self.dead = True

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        if self.dead:
            raise errors.BROKER_UNAVAILABLE.error("test: connection refused")
        super().publish_batch(messages)


def test_a_repeated_fault_is_rate_limited_with_its_count(
    tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    t = start_node(tmp_path, *pki_dirs, broker=DeadBroker())
    stream = io.StringIO()
    clock = [1000.0]  # the filter's monotonic time, moved by the test
    handler = logs.configure(fmt="json", stream=stream, repeat_interval_s=60,
                             monotonic=lambda: clock[0])
    try:
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 1)[1])
        health = Heartbeats()
        guard = LoopGuard("delivery", now=t.clock.now, health=health,
                          log=logging.getLogger("axis.delivery"))
        for _ in range(10):  # the loop's passes while the broker is dead, within a minute
            assert guard.run_pass(t.node.worker.run_once).failed
            clock[0] += 1
        clock[0] += 60
        assert guard.run_pass(t.node.worker.run_once).failed  # the next interval
        for _ in range(5):  # refusals are never rate-limited: each has its own error id
            rest_errors.respond(errors.AUTH_MISSING)
        broker = t.node.broker
        assert isinstance(broker, DeadBroker)
        broker.dead = False
        assert not guard.run_pass(t.node.worker.run_once).failed
    finally:
        logs.unconfigure(handler)
        t.node.close()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    failed = [r for r in records if r["event"].startswith("delivery pass failed")]
    assert len(failed) == 2
    assert "suppressed_repeats" not in failed[0]
    assert failed[1]["suppressed_repeats"] == 9 and failed[1]["repeat_interval_s"] == 60
    assert failed[0]["code"] == "node.broker_unavailable" and failed[0]["level"] == "warning"
    incident = failed[0]["error_id"]
    assert failed[1]["error_id"] == incident  # one incident, one id …
    assert health.status(t.clock.now())[0].last_error_id == incident  # … the one shown
    assert len({r["error_id"] for r in records if r["event"] == "refused"}) == 5
    (recovered,) = [r for r in records if "recovered" in r["event"]]
    assert recovered["failed_passes"] == 11 and recovered["error_id"] == incident


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("fmt", "stream", "rendered"), [
    ("auto", io.StringIO, "json"), ("auto", Terminal, "console"),
    ("console", io.StringIO, "console"), ("json", Terminal, "json")])
def test_json_unless_a_terminal_or_asked(fmt: str, stream: type[io.StringIO],
                                         rendered: str) -> None:
    out = stream()
    handler = logs.configure(fmt=fmt, stream=out)
    try:
        logs.get_logger("axis.test").info("hello", error_id="e-1")
    finally:
        logs.unconfigure(handler)
    line = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue().splitlines()[0])  # colours
    if rendered == "json":
        assert json.loads(line)["error_id"] == "e-1"
    else:
        assert "hello" in line and "error_id=e-1" in line and not line.startswith("{")


def test_log_format_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from axis.settings import load_settings

    monkeypatch.setenv("AXIS_LOG_FORMAT", "console")
    assert load_settings().log_format == "console"
