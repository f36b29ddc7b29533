"""Node processes as an operator runs them (issue 9): `axis serve` and `axis worker` as
real child processes on one database and broker, each a `python -m adapters.cli …`.

`Deployment` holds what the children share (a data dir, and on "rabbit-postgres" a
PostgreSQL schema and a RabbitMQ prefix of the test's own) and a node of the parent's
own, which seeds the registry and audits the result; it never delivers.

Readiness is read from the children themselves: uvicorn's "running on" line in the
server's log file (polled with a deadline, no sleeps as synchronisation).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from durability_support import answers, seed
from service_support import (
    broker_prefix,
    postgres_lease,
    rabbitmq_lease,
    require_postgres,
    require_rabbitmq,
)
from store_support import database_url

from adapters.amqp.rabbit import RabbitBroker
from adapters.node import Node, build_node
from axis.settings import Settings, TrustSettings

REPO = Path(__file__).resolve().parent.parent
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
EMBEDDED, RABBIT_POSTGRES = "embedded", "rabbit-postgres"
START_S = 90.0  # a child's start on a loaded 2-core machine (imports, migrations)


class Proc:
    """One child: its stderr (the JSON log) in a file, read back to find lines."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self._err: IO[bytes] = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "adapters.cli", *args], cwd=REPO,
                                     env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._err,
                                     # Its own process group: `kill` takes the children
                                     # too (uvicorn's HTTP processes of `serve --workers`).
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: re.Pattern[str], timeout_s: float = START_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while True:
            m = pattern.search(self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited {self.proc.returncode}: {self.text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: no {pattern.pattern!r} in {timeout_s} s: "
                            f"{self.text()[-3000:]}")
            time.sleep(0.05)  # polling a file the child writes; the deadline decides

    def url(self) -> str:
        return f"http://127.0.0.1:{self.wait_for(RUNNING).group(1)}"

    def kill(self) -> None:
        """SIGKILL to the process and its children (an `axis serve --workers N` parent's
        HTTP processes would otherwise live on, on the port and the data directory): no
        clean-up of any kind. Idempotent."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._err.close()

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM and wait: the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            self.kill()
        return code


@dataclass
class Deployment:
    tmp: Path
    settings: Settings
    node: Node  # the parent's: seeds, issues credentials, audits; never delivers
    procs: list[Proc] = field(default_factory=list)

    @property
    def rabbit(self) -> bool:
        return bool(self.settings.broker_url)

    def env(self, **extra: str) -> dict[str, str]:
        s = self.settings
        assert s.trust.anchors_dir is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
        return env | {
            "AXIS_DATA_DIR": str(s.data_dir), "AXIS_DATABASE_URL": s.database_url,
            "AXIS_BROKER_URL": s.broker_url, "AXIS_BROKER_PREFIX": s.broker_prefix,
            "AXIS_TRUST__ANCHORS_DIR": str(s.trust.anchors_dir), "AXIS_LOG_FORMAT": "json",
            # One sender sends a burst: the agency rate limit is not what these test.
            "AXIS_REST__RATE_PER_MINUTE": "100000", "AXIS_REST__BURST": "10000",
        } | extra

    def start(self, name: str, *args: str, **env: str) -> Proc:
        proc = Proc(name, list(args), self.env(**env), self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc

    def serve(self, *args: str, **env: str) -> Proc:
        return self.start(f"serve-{len(self.procs)}", "serve", "--host", "127.0.0.1",
                          "--port", "0", *args, **env)

    def worker(self, **env: str) -> Proc:
        return self.start(f"worker-{len(self.procs)}", "worker", **env)


@contextmanager
def deployment(tmp: Path, anchors: Path, backend: str) -> Iterator[Deployment]:
    """The backend's services (skipped on a laptop without them, failed in CI), seeded;
    every child killed, the prefix's queues deleted and the schema dropped afterwards."""
    if backend == EMBEDDED:
        settings = Settings(data_dir=tmp / "var", trust=TrustSettings(anchors_dir=anchors))
        with _deployed(tmp, settings) as d:
            yield d
        return
    broker_url = require_rabbitmq()
    require_postgres()
    with rabbitmq_lease(), postgres_lease(), database_url("postgresql", tmp) as db:
        prefix = broker_prefix("procs")
        settings = Settings(data_dir=tmp / "var", database_url=db, broker_url=broker_url,
                            broker_prefix=prefix, trust=TrustSettings(anchors_dir=anchors))
        try:
            with _deployed(tmp, settings) as d:
                yield d
        finally:
            cleaner = RabbitBroker(broker_url, prefix=prefix)
            if answers(cleaner):
                from exchange_support import SIGNERS

                cleaner.delete_topology([*SIGNERS, "000.00.01.H37", "000.00.06.H37",
                                         "000.00.07.H37"])
            cleaner.close()


@contextmanager
def _deployed(tmp: Path, settings: Settings) -> Iterator[Deployment]:
    node = build_node(settings)
    d = Deployment(tmp, settings, node)
    try:
        seed(node)
        yield d
    finally:
        for proc in d.procs:
            with suppress(Exception):
                proc.kill()
        node.close()  # before the schema is dropped


def established_connections(pid: int) -> int:
    """How many ESTABLISHED TCP connections process `pid` holds (read from /proc: its
    socket inodes against the kernel's TCP tables). A kill meant to cut requests in flight
    picks the HTTP process that holds the clients' keep-alive connections."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone meanwhile
        return 0
    inodes: set[str] = set()
    for fd in fds:
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == "01" and cols[9] in inodes:  # 01: ESTABLISHED
                    count += 1
    return count
