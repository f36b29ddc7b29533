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
         "--concurrency", "2", "--rate", "auto", "--ceilings", "null", "--ceiling-seconds", "1",
         "--drain-seconds", "60", "--cache", str(tmp_path / "cache"), "--out", str(out)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    for key in ("command", "options", "machine", "node", "steps", "ceilings", "ratios",
                "package_bytes", "capabilities"):
        assert key in report, key
    assert "loadavg_start" in report["machine"] and "loadavg_end" in report["machine"]
    # --rate auto: the closed-loop step, then one open loop at 80 % of its accepted/s.
    step, open_loop = report["steps"]
    assert open_loop["rate"] == 0.8 * step["send"]["accepted_per_s"] > 0
    for key in ("peak_accepted_per_s", "offered_per_s", "receipt_p99_ms", "available_p99_ms"):
        assert key in report["at_fraction_of_peak"], key
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
    assert "## Open loop at 80% of the peak" in (out / "summary.md").read_text()
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio node/null_http" in run.stdout


def test_bench_backlog_smoke_writes_its_section(tmp_path: Path) -> None:
    """The urgent-behind-a-backlog case with a tiny backlog: workers stopped, 30 normal
    packages, workers resumed, 3 urgent ones; the section's keys, every urgent copy seen
    in its inbox and the workers running again (no timing is asserted)."""
    out = tmp_path / "backlog"
    run = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "bench", "--backlog", "30",
         "--backlog-urgent", "3", "--backlog-spacing", "0.1", "--ceilings", "none",
         "--drain-seconds", "60", "--cache", str(tmp_path / "cache"), "--out", str(out)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["steps"] == []
    backlog = report["backlog"]
    for key in ("fill", "urgent_send", "urgent_copies", "urgent_available",
                "urgent_available_node", "urgent_under_1s", "backlog_drain_s",
                "backlog_drain_s_polled", "backlog_available_after_resume",
                "backlog_still_queued", "pause_attempts", "peak_rss_mb"):
        assert key in backlog, key
    assert backlog["fill"]["accepted"] == 30 and backlog["urgent_send"]["accepted"] == 3
    assert backlog["urgent_not_seen"] == 0
    assert all(u["available_s"] is not None for u in backlog["urgent_copies"])
    # The workers were resumed: the whole backlog reached the inboxes.
    assert backlog["backlog_still_queued"] == 0 and backlog["backlog_drain_complete"]
    assert "## Urgent behind a backlog of 30" in (out / "summary.md").read_text()
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
