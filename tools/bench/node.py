"""The node under test, started as it runs in production: `axis serve` as a process of
its own (and `axis worker` processes beside it once the CLI has that command), on a fresh
database and broker namespace of its own.

Backends: "embedded" (SQLite under the run's data dir, no broker: the operator's default)
and "postgres-rabbit" (a fresh PostgreSQL schema, put first on the `search_path` as
tests/store_support.py does, and a RabbitMQ virtual host of the run's own: `axis serve`
always uses the prefix "axis", so the vhost is what keeps runs apart). Both are removed
when the run ends.

CPU and peak memory are read from /proc: utime + stime of every process of the node (the
serve process and its descendants, the workers), and VmHWM (the kernel's own peak RSS).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from adapters.cli.registry_cmd import open_registry
from axis.auth import keys, signing
from axis.packaged import SEED_REGISTRY_FILE
from axis.registry import codec
from axis.settings import Settings, TrustSettings
from tools.bench.options import EMBEDDED
from tools.bench.packages import SENDERS, registry_rows

POSTGRES_URL = os.environ.get("AXIS_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RABBITMQ_URL = os.environ.get("AXIS_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
READY_TIMEOUT_S = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
AXIS = [sys.executable, "-m", "adapters.cli"]


@dataclass(frozen=True, slots=True)
class Services:
    """Where one run's node keeps its state."""

    backend: str
    database_url: str  # "" on the embedded default
    broker_url: str  # "" on the embedded default
    schema: str = ""
    vhost: str = ""


def capabilities() -> dict[str, bool]:
    """What this tree's CLI can start: `axis worker`, `axis serve --workers N` and
    `--no-background` (issue 9 brought all three at once). Read from the source files,
    not by importing the CLI: the CLI imports this bench (`axis bench`)."""
    worker = (Path(__file__).resolve().parents[2] / "adapters" / "cli" / "worker_cmd.py")
    has = worker.is_file()
    return {"worker": has, "serve_workers": has, "serve_no_background": has}


@contextmanager
def services(backend: str, run_dir: Path) -> Iterator[Services]:
    """A fresh database (and vhost) for one run, removed afterwards."""
    if backend == EMBEDDED:
        yield Services(backend, "", "")
        return

    with ExitStack() as leases:
        # The leases the test suites take on the machine's services (shared; tests that
        # stop the broker or the database take them exclusive): a bench run and a
        # restart test never overlap (a vhost deleted during `rabbitmqctl stop_app` hung
        # RabbitMQ 3.10 for everyone, issue 9).
        for name in ("rabbitmq", "postgres"):
            leases.enter_context(_shared_lease(
                Path(tempfile.gettempdir()) / f"axis-test-{name}.lock"))
        yield from _fresh_services(backend, run_dir)


@contextmanager
def _shared_lease(path: Path) -> Iterator[None]:
    with path.open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # waits while a restart test holds it
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fresh_services(backend: str, run_dir: Path) -> Iterator[Services]:
    from sqlalchemy import create_engine, text

    tag = uuid.uuid4().hex[:10]
    schema, vhost = f"axis_bench_{tag}", f"axis-bench-{tag}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        sep = "&" if "?" in POSTGRES_URL else "?"
        db = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
        yield Services(backend, db, RABBITMQ_URL.rstrip("/") + "/" + quote(vhost, safe=""),
                       schema, vhost)
    finally:
        # A broker busy or restarted by someone else must not cost the run its report:
        # the leftover is named, for `rabbitmqctl delete_vhost` / DROP SCHEMA by hand.
        try:
            _rabbitmqctl("delete_vhost", vhost)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"axis bench: could not delete the vhost {vhost}: {exc}", file=sys.stderr)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        except Exception as exc:  # any database error: report it and go on
            print(f"axis bench: could not drop the schema {schema}: {exc}", file=sys.stderr)
        admin.dispose()


def _rabbitmqctl(*args: str) -> None:
    # A vhost per run: the node's queue names are fixed, the vhost keeps runs apart.
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def settings_for(svc: Services, data_dir: Path, anchors: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=svc.database_url,
                    broker_url=svc.broker_url, trust=TrustSettings(anchors_dir=anchors))


def prepare(settings: Settings, agencies: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Seed the registry (the sample one plus the bench's recipients) and issue one API
    credential to every agency that sends or takes, as `axis registry credentials issue`
    does. Returns agency → (system id, secret)."""
    master = keys.master_key(settings)
    out: dict[str, tuple[str, str]] = {}
    with open_registry(settings) as registry:
        rows = codec.load_json(SEED_REGISTRY_FILE.read_text(encoding="utf-8"))
        registry.import_rows(rows, actor="bench", reason="seed", only_new=True)
        registry.import_rows(codec.load_json(_as_json(registry_rows())), actor="bench",
                             reason="bench recipients", only_new=True)
        for agency in (*SENDERS, *agencies):
            issued = registry.issue_credential(
                agency, actor="bench", reason="axis bench",
                secret_for=lambda sid: signing.derive_secret(master, sid))
            out[agency] = (issued.credential.system_id, issued.secret)
    return out


def _as_json(rows: list[dict[str, object]]) -> str:
    import json

    return json.dumps({"format": "axis-registry/1", "agencies": rows})


@dataclass
class Node:
    """The node's processes; stopped (SIGTERM, then SIGKILL) by `stop`."""

    url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def pids(self) -> dict[int, str]:
        """Every live process of the node, descendants included, with its role."""
        out: dict[int, str] = {}
        for proc, role in zip(self.processes, self.roles, strict=True):
            for pid in _tree(proc.pid):
                out[pid] = role if pid == proc.pid else f"{role}-child"
        return out

    def stop(self) -> None:
        for proc in self.processes:
            with suppress(ProcessLookupError):
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start(settings: Settings, run_dir: Path, port: int, *, serve_workers: int,
          worker_processes: int, log_level: str, no_background: bool = False) -> Node:
    """`axis serve` (with `--workers N` when asked and supported) and `worker_processes`
    `axis worker` processes; returns once /readyz answers 200. With workers beside it,
    serve runs HTTP only (`--no-background`, when it has it), as deployed in production."""
    env = dict(os.environ)
    env.update({
        "AXIS_DATA_DIR": str(settings.data_dir), "AXIS_DATABASE_URL": settings.database_url,
        "AXIS_BROKER_URL": settings.broker_url,
        "AXIS_TRUST__ANCHORS_DIR": str(settings.trust.anchors_dir),
        # The bench's few agencies send far more than an agency's system would: the
        # per-agency token bucket (default 120/min) would measure itself, not the node.
        "AXIS_REST__RATE_PER_MINUTE": "100000000", "AXIS_REST__BURST": "100000000",
        "AXIS_LOG_LEVEL": log_level, "AXIS_LOG_FORMAT": "json",
    })
    node = Node(f"http://127.0.0.1:{port}")
    serve = [*AXIS, "serve", "--host", "127.0.0.1", "--port", str(port)]
    if serve_workers > 1:
        serve += ["--workers", str(serve_workers)]
    if worker_processes and no_background:
        serve.append("--no-background")
    commands = [("serve", serve)] + [("worker", [*AXIS, "worker"])] * worker_processes
    try:
        for n, (role, argv) in enumerate(commands):
            log = (run_dir / f"node-{role}-{n}.log").open("wb")
            node.processes.append(subprocess.Popen(argv, env=env, stdout=log, stderr=log))
            node.roles.append(role)
            if n == 0:
                # Workers after serve is ready: the first process makes the data dir's node
                # identity and migrates; processes started at once on a fresh data dir race.
                _wait_ready(node)
    except BaseException:
        node.stop()
        raise
    return node


def exited(node: Node) -> dict[str, int]:
    """Node processes that are gone, with their exit codes (a dead worker would let the
    bench measure a node without its delivery)."""
    return {f"{role}-{n}": proc.returncode
            for n, (proc, role) in enumerate(zip(node.processes, node.roles, strict=True))
            if proc.poll() is not None}


def _wait_ready(node: Node) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        for proc in node.processes:
            if proc.poll() is not None:
                raise RuntimeError(f"a node process exited with {proc.returncode} at start "
                                   "(see node-*.log in the run directory)")
        with suppress(httpx.HTTPError):
            if httpx.get(node.url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)  # polling pace while the node starts, not a synchronisation
    raise RuntimeError(f"the node did not become ready in {READY_TIMEOUT_S:.0f} s")


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with suppress(OSError):
                    todo += [int(c) for c in
                             Path(f"/proc/{p}/task/{task}/children").read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of the process's resident memory (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
