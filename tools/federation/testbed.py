"""The test federation as child processes (docs/federation-testbed.md).

What runs: the simulated national axis (`python -m tools.vdxp_sim`, written from vdxp.md
alone) and two nodes, each an `axis serve` with its background (delivery loop, channels
loop with forwarding, jobs with `federation.poll`), each in a process group of its own so
that a kill -9 takes everything it started. Ports are chosen once, before anything is
configured: a restarted process comes back where its peers expect it.

How it is configured — as an operator would, through the `axis` CLI, one TOML file per
node (no `AXIS_*` variable leaks in from the caller's environment):

- one test CA for the federation (as provinces share the national PKI): a certificate
  for each node (its key signs the node's own 01s) and for the agencies that send;
- each node's registry: H37 seeded (`axis registry seed`) plus H41's agencies, H41 its
  own agencies plus H37's; the other province's agencies are external, `served_by` the
  peer the chosen route names ("national" or the other node);
- each node has both peers: `national` (kind vdxp, the simulator, where it is a member
  system) and the other node (kind axis, its /vdxp/ listener, which lists the caller as a
  system with `peer = …`; the secret comes from `axis peer secret` run at that node);
- one agency credential per node (`axis registry credentials issue`) and an admin token.

Nothing here reads a clock for protocol purposes: the nodes and the simulator run on real
time; waiting is polling with a deadline (`Proc.wait_ready`).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parents[2]
EMBEDDED, RABBIT_POSTGRES = "embedded", "rabbit-postgres"
START_S = 120.0  # a child's start on a loaded 2-core machine (imports, migrations)
CLI_S = 180.0

H37, H41 = "h37", "h41"
NODES = (H37, H41)
OTHER = {H37: H41, H41: H37}
PROVINCE = {H37: "H37", H41: "H41"}
# The one agency of each node with a credential (tests and the `up` printout use it).
AGENCY = {H37: "000.00.00.H37", H41: "000.00.00.H41"}
H37_AGENCIES = ("000.00.00.H37", "000.00.02.H37", "000.00.03.H37", "000.00.04.H37",
                "000.00.05.H37")  # UBND and four Sở, all in the seed
H41_AGENCIES = {"000.00.00.H41": ("H41", "Ủy ban nhân dân tỉnh Nghệ An", None),
                "000.00.02.H41": ("H41.02", "Sở Nội vụ tỉnh Nghệ An", "000.00.00.H41")}
SIGNING_AGENCIES = (*H37_AGENCIES, *H41_AGENCIES)
SIM_SYSTEM = {H37: "axis-h37", H41: "axis-h41"}  # each node's member system there
POSTGRES_URL = os.environ.get("AXIS_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RABBITMQ_URL = os.environ.get("AXIS_TEST_RABBITMQ_URL",
                              "amqp://guest:guest@127.0.0.1:5672/%2F")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def clean_env() -> dict[str, str]:
    """The caller's environment without AXIS_* (the environment beats the TOML file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    return env | {"PYTHONUNBUFFERED": "1"}


class Proc:
    """One child in a process group of its own, its output in a log file."""

    def __init__(self, name: str, args: list[str], log: Path, ready: str, port: int) -> None:
        self.name, self.log, self.ready, self.port = name, log, ready, port
        self._out: IO[bytes] = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env=clean_env(), stdin=subprocess.DEVNULL,
            stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = START_S) -> None:
        """Its "running on" line in the log and its port answering; fails when it exits."""
        deadline = time.monotonic() + timeout_s
        while not (self.ready in self.text() and connects(self.port)):
            if not self.alive():
                raise RuntimeError(f"{self.name} exited {self.popen.returncode}: "
                                   f"{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready in {timeout_s} s: "
                                   f"{self.text()[-3000:]}")
            time.sleep(0.05)  # polling a file the child writes; the deadline decides

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up of any kind. Idempotent."""
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        self._out.close()

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM to the group, then SIGKILL whatever is left."""
        if self.alive():
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout_s)
        self.kill()


@dataclass(frozen=True)
class Credential:
    agency_id: str
    system_id: str
    secret: str


class Testbed:
    """Two nodes and the national axis on loopback. `route`: which peer serves the other
    province's agencies ("national": through the simulator; "direct": Axis to Axis).
    `ports`: fixed ports by name ("sim", "h37", "h41"), free ones otherwise."""

    __test__ = False  # pytest: not a test class

    def __init__(self, directory: Path, *, backend: str = EMBEDDED, route: str = "national",
                 ports: dict[str, int] | None = None) -> None:
        if backend not in (EMBEDDED, RABBIT_POSTGRES):
            raise ValueError(f"backend: {EMBEDDED} or {RABBIT_POSTGRES}, not {backend!r}")
        if route not in ("national", "direct"):
            raise ValueError(f"route: national or direct, not {route!r}")
        self.dir = Path(directory).resolve()
        self.backend, self.route = backend, route
        given = ports or {}
        self.ports = {n: given.get(n) or free_port() for n in ("sim", *NODES)}
        self.pki = self.dir / "pki"
        self.credentials: dict[str, Credential] = {}
        self.admin_token = ""
        self.procs: dict[str, Proc] = {}
        self._starts: dict[str, int] = {}
        self._prepared = False
        self._services = ExitStack()
        self._db: dict[str, str] = {}
        self._prefix: dict[str, str] = {}
        self._broker_url: dict[str, str] = {}

    # --- where things are -----------------------------------------------------------------
    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sim']}"

    def url(self, node: str) -> str:
        return f"http://127.0.0.1:{self.ports[node]}"

    def vdxp_url(self, node: str) -> str:
        return f"{self.url(node)}/vdxp"

    def config(self, node: str) -> Path:
        return self.dir / node / "axis.toml"

    def key(self, agency_or_node: str) -> tuple[Path, Path]:
        """(private key, certificate) issued by the federation's CA."""
        return self.pki / f"{agency_or_node}.key", self.pki / f"{agency_or_node}.pem"

    def peer_of(self, node: str) -> str:
        """The peer serving the other province's agencies at `node`."""
        return "national" if self.route == "national" else OTHER[node]

    # --- life -------------------------------------------------------------------------------
    def start(self) -> None:
        """Configure (once) and start everything; ready when this returns."""
        try:
            if not self._prepared:
                self.prepare()
            self.start_sim()
            for node in NODES:
                self._spawn_node(node)
            for node in NODES:
                self.procs[node].wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process, then drop the schemas and broker objects made here."""
        for proc in list(self.procs.values()):
            with suppress(Exception):
                proc.stop()
        self._cleanup_services()

    def start_sim(self) -> Proc:
        return self._spawn("sim", [
            "-m", "tools.vdxp_sim", "--host", "127.0.0.1", "--port", str(self.ports["sim"]),
            "--config", str(self.dir / "sim" / "config.json"),
            "--data-dir", str(self.dir / "sim" / "data")],
            ready=f"vdxp-sim running on {self.sim_url}", wait=True)

    def kill_sim(self) -> None:
        self.procs["sim"].kill()

    def start_node(self, node: str) -> Proc:
        proc = self._spawn_node(node)
        proc.wait_ready()
        return proc

    def kill_node(self, node: str) -> None:
        """kill -9 of the node's process group."""
        self.procs[node].kill()

    def _spawn_node(self, node: str) -> Proc:
        return self._spawn(node, [
            "-m", "adapters.cli", "--config", str(self.config(node)), "serve",
            "--host", "127.0.0.1", "--port", str(self.ports[node])],
            ready=f"running on {self.url(node)}", wait=False)

    def _spawn(self, name: str, args: list[str], *, ready: str, wait: bool) -> Proc:
        old = self.procs.get(name)
        if old is not None and old.alive():
            raise RuntimeError(f"{name} is running (pid {old.pid})")
        self._starts[name] = self._starts.get(name, 0) + 1
        log = self.dir / "logs" / f"{name}-{self._starts[name]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        proc = Proc(name, args, log, ready, self.ports[name])
        self.procs[name] = proc
        if wait:
            proc.wait_ready()
        return proc

    # --- talking to it ------------------------------------------------------------------------
    def client(self, node: str) -> Any:
        """An AgencyClient of the node's agency (adapters/client/agency.py)."""
        from adapters.client.agency import AgencyClient

        c = self.credentials[node]
        return AgencyClient(self.url(node), c.system_id, c.secret, timeout=30)

    def sim_connector(self, node: str) -> Any:
        """An SdkConnector (tools/vdxp_sim/connector.py) speaking to the national axis as
        the node's member system: what the node itself sends, a test can send again."""
        from tools.vdxp_sim.connector import SdkConnector

        secret = (self.dir / node / "national.secret").read_text(encoding="utf-8").strip()
        return SdkConnector(self.sim_url, SIM_SYSTEM[node], secret)

    def admin(self, node: str, path: str) -> Any:
        """GET /admin/v1/<path> with the testbed's admin token: the JSON answer."""
        r = httpx.get(f"{self.url(node)}/admin/v1/{path.lstrip('/')}", timeout=30,
                      headers={"Authorization": f"Bearer {self.admin_token}"})
        r.raise_for_status()
        return r.json()

    def peer_status(self, node: str, peer: str) -> dict[str, Any]:
        """The peer with its backlog (`axis peer show`): waiting, attempts, failing_since."""
        return dict(self.admin(node, f"peers/{peer}"))

    def describe(self) -> list[str]:
        """What runs where, for a person: URLs, credentials, one line per process."""
        lines = [f"route: {self.route} (the other province's agencies are served_by "
                 f"{self.peer_of(H37)!r} at h37, {self.peer_of(H41)!r} at h41); "
                 f"backend: {self.backend}",
                 f"national axis (vdxp-sim): {self.sim_url}"]
        for node in NODES:
            c = self.credentials.get(node)
            lines.append(f"{node} ({PROVINCE[node]}): {self.url(node)}  /vdxp/: "
                         f"{self.vdxp_url(node)}  config: {self.config(node)}")
            if c:
                lines.append(f"  agency {c.agency_id}: system_id {c.system_id} "
                             f"secret {c.secret}")
            if self.backend == RABBIT_POSTGRES:
                lines.append(f"  database {self._db[node]}  broker "
                             f"{self._broker_url[node]} prefix {self._prefix[node]}")
        lines.append(f"admin token (every node): {self.admin_token}")
        lines.append(f"agency keys and certificates: {self.pki}")
        for name, p in self.procs.items():
            state = "running" if p.alive() else f"exited {p.popen.returncode}"
            lines.append(f"process {name}: pid {p.pid} (group) {state}  log {p.log}")
        return lines

    # --- configuration ----------------------------------------------------------------------
    def prepare(self) -> None:
        """PKI, simulator config, node configs, registries, credentials, peers."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._make_pki()
        self._sim_secrets = {n: secrets.token_hex(16) for n in NODES}
        self._write_sim_config()
        if self.backend == RABBIT_POSTGRES:
            self._make_services()
        from adapters.rest.admin_auth import new_token

        self.admin_token, digest = new_token()
        for node in NODES:
            self._write_node_config(node, digest)
        # Two rounds, each node's commands in a thread of its own: the Axis-to-Axis secret
        # of a node comes from `axis peer secret` at the other node.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(self._first_round, NODES))
            list(pool.map(self._second_round, NODES))
        self._prepared = True

    def _make_pki(self) -> None:
        from axis.trust import pki

        if (self.pki / "ca.pem").exists():
            return
        since = datetime.now().astimezone() - timedelta(days=1)
        pki.init_ca(self.pki, since, name="Axis Federation Testbed CA")
        for name in (*SIGNING_AGENCIES, *(f"node-{n}" for n in NODES)):
            pki.issue(self.pki, name, since, days=365)
        anchors = self.pki / "anchors"
        anchors.mkdir(exist_ok=True)
        (anchors / "ca.pem").write_bytes((self.pki / "ca.pem").read_bytes())

    def _node_fingerprint(self, node: str) -> str:
        from axis.trust import pki
        from axis.trust.verdict import fingerprint

        return fingerprint(pki.load_certs(self.key(f"node-{node}")[1])[0])

    def _write_sim_config(self) -> None:
        def unit(i: int, code: str, center: str) -> dict[str, Any]:
            return {"id": i, "code": code, "pid": 0, "name": code, "mail": "",
                    "centerCode": center, "version": 1, "deleted": False,
                    "modifyDate": "2025-01-01", "isAgency": True}

        units = [unit(i + 1, a, "H37") for i, a in enumerate(H37_AGENCIES)]
        units += [unit(100 + i, a, "H41") for i, a in enumerate(H41_AGENCIES)]
        config = {"systems": [{"system_id": SIM_SYSTEM[n], "secret": self._sim_secrets[n],
                               "center": PROVINCE[n]} for n in NODES],
                  "units": units, "timestamp_window_hours": 48,
                  # A send repeated by a node killed after the axis took it is listed
                  # again, as a real axis may do: the receiving node's own de-duplication
                  # is what keeps the document to one delivery.
                  "dedupe_sends": False}
        path = self.dir / "sim" / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")

    def _write_node_config(self, node: str, admin_hash: str) -> None:
        q = json.dumps  # a JSON string is a TOML basic string
        key, cert = self.key(f"node-{node}")
        other = OTHER[node]
        lines = [
            f"data_dir = {q(str(self.dir / node / 'var'))}",
            f"province = {q(PROVINCE[node])}",
            f"database_url = {q(self._db.get(node, ''))}",
            f"broker_url = {q(self._broker_url.get(node, ''))}",
            f"broker_prefix = {q(self._prefix.get(node, 'axis'))}",
            'log_format = "json"',
            "[trust]",
            f"anchors_dir = {q(str(self.pki / 'anchors'))}",
            f"node_key = {q(str(key))}",
            f"node_cert = {q(str(cert))}",
            "[rest]",  # one agency sends bursts: the rate limit is not under test
            "rate_per_minute = 100000",
            "burst = 10000",
            "[federation]",  # short back-offs and polls: outages of seconds, not hours
            "require_https = false",
            "poll_seconds = 1",
            "base_delay_seconds = 1",
            "max_delay_seconds = 2",
            # While a peer fails, each pass spends one call, on the oldest due package:
            # at 1-2 s back-offs the head package spends about an attempt a second, so
            # the budget is what bounds an outage before dead letters (50: a minute+).
            "max_attempts = 50",
            # One call's bound; a copy claimed by a killed node waits 3x this + 30 s.
            "timeout_seconds = 3",
            "[vdxp]",  # the other node hands packages over here (Axis to Axis)
            "enabled = true",
            "rate_per_minute = 60000",
            "burst = 10000",
            "[[vdxp.systems]]",
            f"system_id = {q(f'peer-{other}')}",
            'addresses = ["127.0.0.1/32"]',
            f"peer = {q(other)}",
            "timestamp_window_minutes = 60",
            "[[admin.tokens]]",
            'name = "testbed"',
            'role = "admin"',
            f"hash = {q(admin_hash)}",
        ]
        path = self.config(node)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def axis(self, node: str, *args: str) -> str:
        """`axis --config <node's> ARGS…` as a child: its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "adapters.cli", "--config", str(self.config(node)), *args],
            cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=CLI_S,
            check=False)
        if done.returncode != 0:
            raise RuntimeError(f"axis {' '.join(args)} at {node}: exit {done.returncode}: "
                               f"{done.stderr[-2000:]}")
        return done.stdout

    def _registry_rows(self, node: str) -> list[dict[str, Any]]:
        served_by = self.peer_of(node)
        if node == H37:  # the seed has UBND Nghệ An already: re-pointed by the upsert
            return [{"agency_id": a, "short_id": short, "name": name, "kind": "external",
                     "served_by": served_by} for a, (short, name, _) in H41_AGENCIES.items()]
        rows: list[dict[str, Any]] = [
            {"agency_id": a, "short_id": short, "name": name, "parent_id": parent}
            for a, (short, name, parent) in H41_AGENCIES.items()]
        return rows + [{"agency_id": a, "name": f"Cơ quan {a} (Lạng Sơn)",
                        "kind": "external", "served_by": served_by} for a in H37_AGENCIES]

    def _first_round(self, node: str) -> None:
        reason = "federation testbed"
        if node == H37:
            self.axis(node, "registry", "seed")
        rows = self.dir / node / "agencies.json"
        rows.write_text(json.dumps({"format": "axis-registry/1",
                                    "agencies": self._registry_rows(node)},
                                   ensure_ascii=False), encoding="utf-8")
        self.axis(node, "registry", "import", str(rows), "--reason", reason,
                  "--actor", "testbed")
        issued = json.loads(self.axis(node, "registry", "credentials", "issue",
                                      AGENCY[node], "--reason", reason, "--actor", "testbed"))
        self.credentials[node] = Credential(issued["agency_id"], issued["system_id"],
                                            issued["secret"])
        # What the other node presents here as system peer-<other>.
        said = self.axis(node, "peer", "secret", f"peer-{OTHER[node]}")
        secret = said.strip().rsplit(": ", 1)[1]
        (self.dir / OTHER[node] / f"peer-{node}.secret").write_text(secret + "\n",
                                                                    encoding="utf-8")
        (self.dir / node / "national.secret").write_text(self._sim_secrets[node] + "\n",
                                                         encoding="utf-8")

    def _second_round(self, node: str) -> None:
        other = OTHER[node]
        node_cert = self._node_fingerprint(other)  # the other node signs its 01s
        self.axis(node, "peer", "add", "national", "--kind", "vdxp",
                  "--endpoint", self.sim_url, "--system-id", SIM_SYSTEM[node],
                  "--secret-file", str(self.dir / node / "national.secret"),
                  "--node-cert", node_cert, "--actor", "testbed")
        self.axis(node, "peer", "add", other, "--kind", "axis",
                  "--endpoint", self.vdxp_url(other), "--system-id", f"peer-{node}",
                  "--secret-file", str(self.dir / node / f"peer-{other}.secret"),
                  "--node-cert", node_cert, "--actor", "testbed")

    # --- rabbit-postgres ----------------------------------------------------------------------
    def _make_services(self) -> None:
        """A PostgreSQL schema and a RabbitMQ prefix per node, under the shared leases
        the test suites take on the machine's services (a restart test holds them
        exclusive)."""
        from sqlalchemy import create_engine, text

        for name in ("rabbitmq", "postgres"):
            self._services.enter_context(_shared_lease(
                Path(tempfile.gettempdir()) / f"axis-test-{name}.lock"))
        admin = create_engine(POSTGRES_URL, pool_pre_ping=True)
        self._services.callback(admin.dispose)
        sep = "&" if "?" in POSTGRES_URL else "?"
        for node in NODES:
            tag = uuid.uuid4().hex[:10]
            schema = f"axis_test_fed_{node}_{tag}"
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            self._services.callback(_drop_schema, admin, schema)
            self._db[node] = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
            self._prefix[node] = f"axis-fed-{node}"
            # A broker vhost of its own per node, as two provinces' brokers are apart;
            # without rabbitmqctl (a remote broker), a prefix on the default vhost.
            # The owner's pid in the name: the test session's sweep deletes the vhosts of
            # runs that are gone (tests/service_support.py).
            vhost = f"axis-test-fed-{os.getpid()}-{node}-{tag}"
            if _add_vhost(vhost):
                self._services.callback(_delete_vhost, vhost)
                self._broker_url[node] = f"{RABBITMQ_URL.rsplit('/', 1)[0]}/{vhost}"
            else:
                self._prefix[node] = f"axis-test-fed-{node}-{tag}"
                self._broker_url[node] = RABBITMQ_URL
                self._services.callback(_delete_topology, self._prefix[node])

    def _cleanup_services(self) -> None:
        services, self._services = self._services, ExitStack()
        services.close()


def _drop_schema(engine: Any, schema: str) -> None:
    from sqlalchemy import text

    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    except Exception as exc:  # never lose the rest of the clean-up over one schema
        print(f"testbed: could not drop schema {schema}: {exc}", file=sys.stderr)


def _rabbitmqctl(*args: str) -> bool:
    import shutil
    import subprocess

    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=120,
                       capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"testbed: rabbitmqctl {' '.join(args)}: {exc}", file=sys.stderr)
        return False
    return True


def _add_vhost(vhost: str) -> bool:
    """A vhost the guest user may use, on the machine's RabbitMQ; False when there is no
    rabbitmqctl to make one."""
    return (_rabbitmqctl("add_vhost", vhost)
            and _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"))


def _delete_vhost(vhost: str) -> None:
    _rabbitmqctl("delete_vhost", vhost)  # its queues and exchanges with it


def _delete_topology(prefix: str) -> None:
    from adapters.amqp.rabbit import RabbitBroker

    agencies = [*SIGNING_AGENCIES, *_seed_ids()]
    try:
        broker = RabbitBroker(RABBITMQ_URL, prefix=prefix)
        try:
            broker.delete_topology(agencies)
        finally:
            broker.close()
    except Exception as exc:  # reported; the test session's sweep takes what is left
        print(f"testbed: could not delete broker prefix {prefix}: {exc}", file=sys.stderr)


def _seed_ids() -> list[str]:
    from axis.packaged import SEED_REGISTRY_FILE

    data = json.loads(SEED_REGISTRY_FILE.read_text(encoding="utf-8"))
    return [str(a["agency_id"]) for a in data["agencies"]]


@contextmanager
def _shared_lease(path: Path) -> Iterator[None]:
    with path.open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # waits while a restart test holds it
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def running(directory: Path, **options: Any) -> Iterator[Testbed]:
    """A started testbed, stopped (every process, every schema and prefix) afterwards."""
    bed = Testbed(directory, **options)
    bed.start()
    try:
        yield bed
    finally:
        bed.stop()

