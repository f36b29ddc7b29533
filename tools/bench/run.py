"""`axis bench`: one run = pre-signed packages, a node started as in production, steps of
offered load (concurrencies, or open-loop rates), the ceilings, the report."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.bench import backlog, ceilings, load, node, packages, profile, report, stats
from tools.bench.options import EMBEDDED, POSTGRES_RABBIT, REPO

RSS_MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _steps(args: argparse.Namespace) -> tuple[str, list[tuple[str, float, int, float]]]:
    """(unit, [(label, x, connections, rate)]); a negative rate is a share of the peak
    accepted/s of the steps before it (`--rate auto`)."""
    conns = [int(c) for c in str(args.concurrency).split(",") if c]
    if args.backlog:
        return "connections (closed loop)", []
    if args.rate == "auto":
        # The peak first (closed loop), then the open-loop step at a share of it: the
        # issue's "p99 at 80 % of the peak rate".
        return "connections (closed loop)", [
            *((f"{c} conn", float(c), c, 0.0) for c in conns),
            (f"{args.auto_fraction:.0%} of peak", float(conns[-1]), conns[-1],
             -float(args.auto_fraction))]
    if args.rate:
        rates = [float(r) for r in str(args.rate).split(",") if r]
        return "offered packages/s (open loop)", [(f"{r:g}/s", r, conns[0], r) for r in rates]
    return "connections (closed loop)", [(f"{c} conn", float(c), c, 0.0) for c in conns]


def _package_count(args: argparse.Namespace, steps: int) -> int:
    if args.backlog:
        return backlog.package_count(int(args.backlog), int(args.backlog_urgent),
                                     float(args.urgent_share))
    if args.packages:
        return int(args.packages) * steps
    per_s = {"5KB": 150, "360KB": 60, "45MB": 1}[args.size]
    if args.rate and args.rate != "auto":
        per_s = int(max(float(r) for r in str(args.rate).split(",") if r)) + 1
    return max(int(per_s * args.seconds), 20) * steps


def _ceilings(args: argparse.Namespace) -> set[str]:
    if args.ceilings == "none":
        return set()
    if args.ceilings == "auto":
        return {"null", "rabbitmq", "postgres"} if args.backend == POSTGRES_RABBIT \
            else {"null", "sqlite"}
    return {c.strip() for c in str(args.ceilings).split(",") if c.strip()}


def step(url: str, creds: dict[str, tuple[str, str]], pset: packages.PackageSet,
         chunk: list[packages.Package], connections: int, rate: float, seconds: float,
         out: Path, name: str, takers: dict[str, tuple[str, str]] | None, takers_n: int,
         drain_s: float, sample: Callable[[], dict[int, float]] | None = None
         ) -> dict[str, Any]:
    """One step: a sender process (and a recipients' process) against `url`; `sample`
    reads the node's CPU when the sending ends."""
    ctx = multiprocessing.get_context("spawn")
    plan = load.SendPlan(url, {p.sender: creds[p.sender] for p in chunk}, str(pset.directory),
                         [(p.file, p.sender, p.document_id, p.urgent) for p in chunk],
                         connections, rate, seconds, str(out / f"{name}-send.json"))
    done, expected, until = ctx.Event(), ctx.Value("q", 0), ctx.Value("d", 0.0)
    taker = None
    if takers:
        tplan = load.TakePlan(url, takers, min(takers_n, len(takers)),
                              str(out / f"{name}-take.json"))
        taker = ctx.Process(target=load.take, args=(tplan, done, expected, until))
        taker.start()
    started_at = time.time()
    sender = ctx.Process(target=load.send, args=(plan,))
    try:
        sender.start()
        sender.join()
        if sender.exitcode != 0:
            raise RuntimeError(f"the sender process failed (exit {sender.exitcode})")
    except BaseException:
        # The recipients would wait for a sender that never finishes: stop them too.
        if taker is not None:
            taker.kill()
            taker.join()
        raise
    if sample is not None:
        result_cpu = sample()
    send_data = json.loads(Path(plan.out).read_text())
    result: dict[str, Any] = {"send": stats.sends(send_data)}
    if sample is not None:
        result["cpu_at_send_end"] = result_cpu
    expected.value = result["send"]["copies_accepted"]
    until.value = time.time() + drain_s
    done.set()
    result["started_at"], result["send_ended_at"] = started_at, time.time()
    if taker is not None:
        taker.join()
        result["take"] = stats.takes(send_data, json.loads(Path(tplan.out).read_text()))
    return result


def main(args: argparse.Namespace) -> int:
    out = Path(args.out or REPO / "reports" / "bench" / datetime.now(UTC).strftime(
        "%Y%m%dT%H%M%SZ"))
    out.mkdir(parents=True, exist_ok=True)
    unit, steps = _steps(args)
    caps = node.capabilities()
    workers = (1 if caps["worker"] else 0) if args.worker_processes == "auto" \
        else int(args.worker_processes)
    if workers and not caps["worker"]:
        raise SystemExit("axis bench: this axis has no `axis worker` command yet")
    if args.serve_workers > 1 and not caps["serve_workers"]:
        raise SystemExit("axis bench: this axis serve has no --workers option yet")
    print(f"axis bench: signing packages ({args.size}, {args.recipients} recipient(s))…",
          file=sys.stderr)
    count = _package_count(args, len(steps))
    pset = packages.package_set(Path(args.cache), size=args.size, recipients=args.recipients,
                                urgent_share=args.urgent_share, count=count)
    rep: dict[str, Any] = {
        "command": "axis bench " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["bench"]
                                              else sys.argv[1:]),
        "options": {k: v for k, v in vars(args).items() if k not in ("handler", "config")},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_start": _load()},
        "package_bytes": pset.bytes_each, "offered_unit": unit, "capabilities": caps,
        "steps": [], "ceilings": {},
    }
    per_step = len(pset.packages) // max(len(steps), 1)
    with node.services(args.backend, out) as svc:
        data_dir = out / "var"
        if data_dir.exists():  # a former run's state here would make every send a duplicate
            shutil.rmtree(data_dir)
        settings = node.settings_for(svc, data_dir, pset.anchors)
        recipients = packages.used_recipients(args.recipients)
        creds = node.prepare(settings, recipients)
        takers = {a: creds[a] for a in recipients}
        n = node.start(settings, out, _free_port(), serve_workers=args.serve_workers,
                       worker_processes=workers, log_level=args.log_level,
                       no_background=caps.get("serve_no_background", False))
        rep["node"] = {"roles": n.roles, "url": n.url}
        try:
            rep["node"]["idle_cpu_per_s"] = _idle_cpu(n)
            _alive(n)
            if args.backlog:
                rep["backlog"] = backlog.run(
                    n, creds, pset, args, out, takers,
                    svc.database_url or f"sqlite:///{(data_dir / 'axis.sqlite3').resolve()}",
                    data_dir / "axis.sqlite3" if args.backend == EMBEDDED else None)
                _alive(n)
            for i, (step_label, x, conns, step_rate) in enumerate(steps):
                label, rate, peak = step_label, step_rate, 0.0
                if step_rate < 0:
                    peak = max((s["send"]["accepted_per_s"] for s in rep["steps"]),
                               default=0.0)
                    if peak <= 0:
                        raise RuntimeError("--rate auto: no closed-loop step accepted any")
                    rate = -step_rate * peak
                    label = f"{rate:.1f}/s open loop ({-step_rate:.0%} of peak {peak:.1f}/s)"
                chunk = list(pset.packages[i * per_step:(i + 1) * per_step])
                print(f"axis bench: step {label} ({len(chunk)} packages ready)…",
                      file=sys.stderr)
                cpu0 = {pid: node.cpu_seconds(pid) for pid in n.pids()}
                spy = _profile(n, out, args.seconds) if args.profile and i == 0 else None
                r = step(n.url, creds, pset, chunk, conns, rate, args.seconds, out,
                         f"step{i}", takers, args.takers, args.drain_seconds,
                         sample=lambda: {p: node.cpu_seconds(p) for p in n.pids()})
                pids = n.pids()
                cpu_end = {pid: node.cpu_seconds(pid) for pid in pids}
                if spy is not None:
                    spy.wait(timeout=args.seconds + 60)
                accepted = max(r["send"]["accepted"], 1)
                sending = sum(v - cpu0.get(p, 0.0) for p, v in r.pop("cpu_at_send_end").items()) \
                    if "cpu_at_send_end" in r else None
                total = sum(v - cpu0.get(p, 0.0) for p, v in cpu_end.items())
                r.update(label=label, offered=label, offered_value=x, connections=conns,
                         rate=rate, loadavg_end=_load())
                idle = rep["node"]["idle_cpu_per_s"] * (r["send_ended_at"] - r["started_at"])
                r["cpu"] = {
                    # Less what the idle node burns anyway (its loops) over the same time.
                    "ms_per_accepted_net_of_idle": 1000 * max(total - idle, 0.0) / accepted,
                    "seconds_by_process": {f"{pids[p]}:{p}": cpu_end[p] - cpu0.get(p, 0.0)
                                           for p in pids},
                    "ms_per_accepted_total": 1000 * total / accepted,
                    "ms_per_accepted_while_sending": 1000 * (sending if sending is not None
                                                             else total) / accepted,
                }
                r["peak_rss_mb"] = max((node.peak_rss_bytes(p) for p in pids), default=0) / RSS_MB
                r["peak_rss_mb_by_process"] = {f"{pids[p]}:{p}": node.peak_rss_bytes(p) / RSS_MB
                                               for p in pids}
                if step_rate < 0:
                    r["auto"] = {"peak_accepted_per_s": peak, "fraction": -step_rate}
                    rep["at_fraction_of_peak"] = at_fraction(r)
                rep["steps"].append(r)
                _alive(n)
        finally:
            n.stop()
            shutil.rmtree(data_dir, ignore_errors=True)  # the report is what stays
            rep["node"]["log_problems"] = log_problems(out)
    rep["ceilings"] = run_ceilings(args, pset, out, _ceilings(args))
    rep["machine"]["loadavg_end"] = _load()
    if (out / "profile.txt").is_file():
        rep["profile"] = profile.summarise(out / "profile.txt")
    report.write(out, rep)
    print(report.markdown(rep))
    for k, v in rep["ratios"].items():
        print(f"ratio {k}: {v:.3f}")
    print(f"axis bench: report in {out}", file=sys.stderr)
    return 0


def log_problems(out: Path) -> dict[str, int]:
    """Warnings and errors in the node's logs, counted by the start of their event: on a
    shared machine a broker or database restarted by someone else shows up here."""
    got: dict[str, int] = {}
    for log in sorted(out.glob("node-*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("warning", "error",
                                                                  "critical"):
                key = f"{log.stem} {entry['level']}: {str(entry.get('event', ''))[:60]}"
                got[key] = got.get(key, 0) + 1
    return got


def at_fraction(r: dict[str, Any]) -> dict[str, Any]:
    """The open-loop step of `--rate auto`: its rate and the p99s, latency counted from
    each package's scheduled moment (tools/bench/load.py)."""
    return {
        "peak_accepted_per_s": r["auto"]["peak_accepted_per_s"],
        "fraction": r["auto"]["fraction"], "offered_per_s": r["rate"],
        "accepted_per_s": r["send"]["accepted_per_s"],
        "receipt_p99_ms": r["send"]["receipt_latency"].get("p99_ms"),
        "available_p99_ms": r["take"]["available_latency"].get("p99_ms"),
        "receipt_p50_ms": r["send"]["receipt_latency"].get("p50_ms"),
        "available_p50_ms": r["take"]["available_latency"].get("p50_ms"),
        "refused": r["send"]["refused"],
    }


def run_ceilings(args: argparse.Namespace, pset: packages.PackageSet, out: Path,
                 which: set[str]) -> dict[str, Any]:
    seconds = args.ceiling_seconds or min(args.seconds, 10.0)
    body = (pset.directory / pset.packages[0].file).read_bytes()
    got: dict[str, Any] = {}
    if "null" in which:
        port = _free_port()
        log = (out / "null-http.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tools.bench.null_app:app",
                                 "--host", "127.0.0.1", "--port", str(port),
                                 "--log-level", "warning"], cwd=REPO, stdout=log, stderr=log)
        try:
            null = node.Node(f"http://127.0.0.1:{port}", [proc], ["null"])
            node._wait_ready(null)
            conns = int(str(args.concurrency).split(",")[-1])
            fake = {s: ("null", "null") for s in packages.SENDERS}
            # Packages again: the null endpoint does not care that they were sent before.
            chunk = list(pset.packages) * 4
            got["null_http"] = step(null.url, fake, pset, chunk, conns, 0.0, seconds, out,
                                    "null", None, 0, 0.0)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    if "rabbitmq" in which:
        got["rabbitmq"] = ceilings.rabbitmq(node.RABBITMQ_URL.rstrip("/") + "/%2F", body,
                                            seconds)
    if "postgres" in which:
        got["postgres"] = ceilings.postgres(node.POSTGRES_URL, body, seconds,
                                            int(str(args.concurrency).split(",")[-1]))
    if "sqlite" in which:
        got["sqlite"] = ceilings.sqlite(out, body, seconds)
    return got


def _idle_cpu(n: node.Node, window_s: float = 1.0, settle_s: float = 20.0) -> float:
    """CPU seconds a second the node burns with no traffic (its loops and jobs), once
    its start-up work (imports, the registry snapshot, the start-up reconciliation) is
    over: one-second windows until two in a row agree within 0.02 CPU s/s (at most
    `settle_s`). A single window right after /readyz measured start-up, 0.4-0.7 CPU
    s/s, where the settled node burns about 0.015."""
    deadline = time.monotonic() + settle_s
    last: float | None = None
    while True:
        before = {pid: node.cpu_seconds(pid) for pid in n.pids()}
        time.sleep(window_s)  # a measuring window, not a synchronisation
        rate = sum(node.cpu_seconds(p) - before.get(p, 0.0) for p in n.pids()) / window_s
        if last is not None and (abs(rate - last) < 0.02 or time.monotonic() >= deadline):
            return min(rate, last)
        last = rate


def _alive(n: node.Node) -> None:
    gone = node.exited(n)
    if gone:
        raise RuntimeError(f"node processes exited: {gone} (see node-*.log in the run "
                           "directory)")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _profile(n: node.Node, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy on the serve process (and its children) for the step's sending time."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("axis bench: --profile needs py-spy (pip install py-spy)", file=sys.stderr)
        return None
    return subprocess.Popen([str(spy), "record", "--pid", str(n.processes[0].pid),
                             "--subprocesses", "--nonblocking", "--duration", str(int(seconds)),
                             "--rate", "100",
                             "--format", "raw", "--output", str(out / "profile.txt")],
                            stdout=subprocess.DEVNULL, stderr=(out / "py-spy.log").open("wb"))
