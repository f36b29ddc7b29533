"""Helpers for tests that need a real external service (RabbitMQ, PostgreSQL).

A missing service skips the test on a laptop and fails it in CI (`CI=true`), as the design
asks: CI must never go green by skipping what it was meant to check. Reachability is a
plain TCP connect, so this module needs no client library of any service.

    url = require_rabbitmq()   # at the top of a fixture or test
    with rabbitmq_lease():     # around the test's use of the local RabbitMQ
        ...
    with postgres_lease(exclusive=True):  # around a test that restarts PostgreSQL
        ...
    wait_until(lambda: ..., timeout_s=30, what="the broker is back")
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

RABBITMQ_URL = os.environ.get(
    "AXIS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
POSTGRES_URL = os.environ.get(
    "AXIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing_service(reason: str) -> NoReturn:
    """Skip on a developer machine, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def port_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> str:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    if not port_open(host, port):
        missing_service(
            f"{name} is not reachable on {host}:{port} (start it: tools/ensure-services.sh)")
    return url


def require_rabbitmq() -> str:
    """The AMQP URL of a reachable RabbitMQ (AXIS_TEST_RABBITMQ_URL overrides)."""
    return require_service("RabbitMQ", RABBITMQ_URL, 5672)


def require_postgres() -> str:
    """The SQLAlchemy URL of a reachable PostgreSQL (AXIS_TEST_POSTGRES_URL overrides)."""
    return require_service("PostgreSQL", POSTGRES_URL, 5432)


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.02,
) -> None:
    """Poll `condition` until it holds; fail the test after `timeout_s`. For waiting on
    something real (a broker coming back, a delayed message arriving), never a bare sleep
    standing in for it."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting until {what}")
        time.sleep(interval_s)


_RABBITMQ_LOCK = Path(tempfile.gettempdir()) / "axis-test-rabbitmq.lock"
_POSTGRES_LOCK = Path(tempfile.gettempdir()) / "axis-test-postgres.lock"


@contextmanager
def _lease(lock_path: Path, service: str, *, exclusive: bool, timeout_s: float) -> Iterator[None]:
    """An flock on `lock_path`, shared or exclusive, polled until `timeout_s`."""
    with lock_path.open("a+") as lock:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(lock, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pytest.fail(f"{service} stayed leased by another test run for {timeout_s} s")
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def rabbitmq_lease(*, exclusive: bool = False, timeout_s: float = 300) -> Iterator[None]:
    """Coordinate pytest processes sharing the machine's RabbitMQ. Ordinary tests hold a
    shared lease; tests that stop the broker or raise a resource alarm hold an exclusive
    one, so that one developer's restart test does not fail another's run. (An flock per
    open file: never ask for an exclusive lease while this process holds a shared one.)"""
    with _lease(_RABBITMQ_LOCK, "RabbitMQ", exclusive=exclusive, timeout_s=timeout_s):
        yield


@contextmanager
def postgres_lease(*, exclusive: bool = False, timeout_s: float = 600) -> Iterator[None]:
    """The same for the machine's PostgreSQL: the durability tests hold a shared lease,
    the one that restarts the database an exclusive one. Other tests on a schema of their
    own do not take it, so a restart can still fail a statement they run at that moment:
    restarting tests stay few and marked slow."""
    with _lease(_POSTGRES_LOCK, "PostgreSQL", exclusive=exclusive, timeout_s=timeout_s):
        yield


# Name prefixes of the broker objects tests create: `axis-<kind>-<pid>-<random>`, the pid
# of the pytest process that owns them, so that a sweep deletes only what a finished or
# killed run left and never the queues of a run still going (CI beside a developer's run).
TEST_KINDS = ("test", "durability", "procs")
_OWNED = re.compile(r"^axis-(?:test|durability|procs)-(\d+)-")


def broker_prefix(kind: str = "test") -> str:
    """A broker prefix of this test process's own (see `sweep_test_topology`)."""
    assert kind in TEST_KINDS
    return f"axis-{kind}-{os.getpid()}-{uuid.uuid4().hex[:10]}"


def _orphaned(name: str) -> bool:
    """A test's queue or exchange whose pytest process is this one or gone."""
    found = _OWNED.match(name)
    if found is None:
        # The older form without a pid (axis-test-<hex>): only a run of older code
        # made it; left over.
        return bool(re.match(r"^axis-(?:test|durability|procs)-[0-9a-f]{10,12}[.]", name))
    return _gone(int(found.group(1)))


def _gone(pid: int) -> bool:
    """This process (its session is ending) or a process that no longer exists."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep_test_topology() -> int:
    """Delete every queue and exchange a finished or killed test run left on the local
    RabbitMQ (a test killed before its teardown, a queue declared by another process of
    the test): thousands of them slow the broker's boot to minutes and once wedged it.
    Listed with `rabbitmqctl` (AMQP cannot list), deleted over AMQP; a run still going
    keeps its own. Returns how many were deleted; 0 without a local broker or rabbitmqctl."""
    import shutil
    import subprocess

    import pika

    if shutil.which("rabbitmqctl") is None or not port_open("127.0.0.1", 5672):
        return 0
    names: dict[str, list[str]] = {}
    for kind in ("queues", "exchanges"):
        try:
            out = subprocess.run(["rabbitmqctl", "-q", f"list_{kind}", "name"],
                                 capture_output=True, text=True, timeout=120, check=True)
        except (OSError, subprocess.SubprocessError):
            return 0
        names[kind] = [n.strip() for n in out.stdout.splitlines() if _orphaned(n.strip())]
    deleted = 0
    # The federation testbed's broker vhosts (tools/federation): axis-test-fed-<pid>-….
    try:
        vhosts = subprocess.run(["rabbitmqctl", "-q", "list_vhosts", "name"],
                                capture_output=True, text=True, timeout=120,
                                check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        vhosts = []
    for vhost in vhosts:
        owner = re.match(r"^axis-test-fed-(\d+)-", vhost.strip())
        if owner and _gone(int(owner.group(1))):
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost.strip()],
                           capture_output=True, timeout=120, check=False)
            deleted += 1
    if not names["queues"] and not names["exchanges"]:
        return deleted
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        for name in names["queues"]:
            channel.queue_delete(name)
            deleted += 1
        for name in names["exchanges"]:
            channel.exchange_delete(name)
            deleted += 1
    finally:
        connection.close()
    return deleted
