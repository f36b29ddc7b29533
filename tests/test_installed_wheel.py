"""The node as an operator installs it: a wheel built from what the Dockerfile copies,
installed with pip into a fresh virtual environment outside the source tree, then run from
a directory that is not the repository. Guards the class of defect where the node reads
files beside its sources (schemas, configuration, web assets) that the wheel does not ship.

Slow (a pip install, about a minute with a warm pip cache) but part of `make test`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE = REPO_ROOT.parent / "shared" / "fixtures" / "edxml" / "edoc-new.edxml"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    venv: Path
    home: Path  # the working directory of every command: neither the repo nor the venv
    wheel: Path
    package_files: tuple[str, ...]  # every file of the packages' source directories

    @property
    def axis(self) -> str:
        return str(self.venv / "bin" / "axis")

    def env(self) -> dict[str, str]:
        # A fresh operator's shell: no AXIS_* settings, nothing that points at the sources.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AXIS_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        env["AXIS_DATA_DIR"] = str(self.home / "var")
        return env

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.axis, *args], cwd=self.home, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)


def _dockerfile_sources() -> list[str]:
    """What the Dockerfile copies into the image before `pip install .`."""
    sources: list[str] = []
    for line in (REPO_ROOT / "Dockerfile").read_text("utf-8").splitlines():
        if line.startswith("COPY "):
            words = shlex.split(line)
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def _check(cmd: list[str], cwd: Path, timeout: float = 600) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{cmd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    # Build from a copy holding only what the image gets: a file the node needs but the
    # Dockerfile leaves out fails here too. (A copy also keeps setuptools' build/ out of
    # the tree, where stale modules would slip into the wheel.)
    src = base / "src"
    src.mkdir()
    sources = _dockerfile_sources()
    assert {"pyproject.toml", "axis", "adapters"} <= set(sources), sources
    for name in sources:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, src / name)
    dist = base / "dist"
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist),
            str(src)], cwd=base)
    (wheel,) = dist.glob("axis_node-*.whl")
    venv = base / "venv"
    _check([sys.executable, "-m", "venv", str(venv)], cwd=base)
    # The pip cache is used (no --no-cache-dir): a warm cache makes this about a minute.
    _check([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
           cwd=base)
    package_files = tuple(sorted(
        p.relative_to(src).as_posix() for top in ("axis", "adapters")
        for p in (src / top).rglob("*") if p.is_file()))
    shutil.rmtree(src)  # nothing of the sources is left to be found by accident
    home = base / "home"
    home.mkdir()
    return Installed(venv, home, wheel, package_files)


def test_the_wheel_ships_every_file_of_the_packages(installed: Installed) -> None:
    # Data beside the modules (schemas, configuration, templates, assets) is read at run
    # time: a file the wheel leaves out works from a checkout and fails once installed.
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = set(wheel.namelist())
    missing = [f for f in installed.package_files if f not in shipped]
    assert not missing, f"not in the wheel (add them to package-data): {missing}"


def test_the_installed_package_is_the_one_running(installed: Installed) -> None:
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c",
         "import axis, adapters, axis.packaged as p; "
         "print(axis.__file__); print(adapters.__file__); print(p.DATA_ROOT)"],
        cwd=installed.home, env=installed.env(), capture_output=True, text=True, check=True)
    for path in done.stdout.split():
        assert Path(path).is_relative_to(installed.venv), path
        assert not Path(path).is_relative_to(REPO_ROOT), path


def test_installed_edxml_check_reads_a_real_package(installed: Installed) -> None:
    done = installed.run("edxml", "check", str(FIXTURE))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[0])
    assert report["valid"] is True and report["kind"] == "edoc", report


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    """`axis registry seed` then `axis serve` on the embedded default, until /readyz is 200."""
    seeded = installed.run("registry", "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout)["added"] > 0
    port = _free_port()
    log = installed.home / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([installed.axis, "serve", "--host", "127.0.0.1",
                                 "--port", str(port)],
                                cwd=installed.home, env=installed.env(),
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"{url}/readyz", timeout=2).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                break
            time.sleep(0.2)  # polling interval, not synchronisation: the deadline decides
        assert status == 200, f"/readyz: {status}, exit {proc.poll()}\n{log.read_text()}"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_installed_serve_is_ready_on_the_embedded_default(installed: Installed,
                                                          served: str) -> None:
    r = httpx.get(f"{served}/readyz", timeout=5)
    assert r.status_code == 200, r.text
    assert (installed.home / "var").is_dir()
    # The SOAP contract is read from the packaged WSDL.
    wsdl = httpx.get(f"{served}/soap?wsdl", timeout=5)
    assert wsdl.status_code == 200 and b"AxisService" in wsdl.content
    # The API docs' scripts come from an installed dependency, not from a CDN.
    docs = httpx.get(f"{served}/docs", timeout=5)
    assert docs.status_code == 200 and "https://" not in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        got = httpx.get(f"{served}/docs/assets/{asset}", timeout=5)
        assert got.status_code == 200 and len(got.content) > 100_000, asset
    # The console's templates and stylesheet come from the installed package.
    console = httpx.get(f"{served}/console/login", timeout=5)
    assert console.status_code == 200 and 'data-testid="login"' in console.text
    css = httpx.get(f"{served}/console/static/console.css", timeout=5)
    assert css.status_code == 200 and b"--brand" in css.content


def test_installed_serve_runs_its_loops_and_jobs(served: str) -> None:
    """What must run by itself runs in the installed node: the delivery loop beats, and
    the jobs that run at start (reconciliation, journal sealing) have succeeded."""
    deadline = time.monotonic() + 60
    while True:
        r = httpx.get(f"{served}/health/delivery", timeout=5)
        jobs = r.json()["background"]
        ran = {name for name, j in jobs.items() if j["last_success"]}
        if {"delivery", "delivery.reconcile", "journal.seal"} <= ran:
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)  # polling a real process with a deadline, not synchronising on it
    assert {"trust.crl_refresh", "store.orphans", "auth.purge"} <= set(jobs)
    assert r.status_code == 200, r.text


def test_installed_audit_verify(installed: Installed, served: str) -> None:
    done = installed.run("audit", "verify")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
