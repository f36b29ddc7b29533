"""`axis bench` cannot rot: a run of a few seconds on the embedded default, as `make bench`
runs it but short, must produce its report (JSON keys, summary, chart) with packages
accepted and taken. No figure is asserted: throughput is never a test's business here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_smoke_run_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    run = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "bench", "--seconds", "2", "--packages", "30",
         "--concurrency", "2", "--ceilings", "null", "--ceiling-seconds", "1",
         "--drain-seconds", "60", "--cache", str(tmp_path / "cache"), "--out", str(out)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    for key in ("command", "options", "machine", "node", "steps", "ceilings", "ratios",
                "package_bytes", "capabilities"):
        assert key in report, key
    assert "loadavg_start" in report["machine"] and "loadavg_end" in report["machine"]
    (step,) = report["steps"]
    assert step["send"]["accepted"] > 0, step["send"]
    for key in ("accepted_per_s", "copies_per_s", "receipt_latency", "refused"):
        assert key in step["send"], key
    for key in ("takes_per_s", "available_latency", "taken_latency"):
        assert key in step["take"], key
    assert step["take"]["taken"] > 0
    assert step["cpu"]["ms_per_accepted_total"] > 0 and step["peak_rss_mb"] > 0
    assert report["ceilings"]["null_http"]["send"]["accepted"] > 0
    assert "node/null_http" in report["ratios"]
    assert (out / "summary.md").read_text().startswith("# axis bench")
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio node/null_http" in run.stdout
