"""`axis edxml check FILE...`: exit codes, one JSON object per line, the documented keys.

Exit 0: every package valid; 1: at least one refused; 2: usage error (no file, unknown
option, a file that cannot be read).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "cases" / "edxml"
KEYS = {
    "file", "kind", "valid", "code", "errors", "warnings", "business_type", "status_code",
    "from", "to", "document_id", "priority", "attachments", "signature",
}
FINDING_KEYS = {"code", "severity", "path", "line", "detail", "message_vi", "message_en"}


def run(
    argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]], str]:
    """(exit code, parsed JSON lines, stderr); argparse's SystemExit becomes its code."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    return code, [json.loads(line) for line in lines], captured.err


@pytest.fixture(autouse=True)
def _default_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AXIS_CONFIG", raising=False)


def assert_report_shape(report: dict[str, Any]) -> None:
    assert set(report) == KEYS
    assert isinstance(report["valid"], bool)
    assert isinstance(report["errors"], list) and isinstance(report["warnings"], list)
    assert isinstance(report["to"], list) and isinstance(report["attachments"], list)
    for finding in report["errors"] + report["warnings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["message_vi"] and finding["message_en"]
    if report["valid"]:
        assert report["code"] is None and report["errors"] == []
    else:
        assert report["code"] == report["errors"][0]["code"]


def test_all_valid_exits_0(capsys: pytest.CaptureFixture[str], fixtures_dir: Path) -> None:
    files = [str(fixtures_dir / "status-01.edxml"), str(fixtures_dir / "edoc-2019-small.edxml")]
    code, reports, err = run(["edxml", "check", *files], capsys)
    assert code == 0, err
    assert [r["file"] for r in reports] == files
    for r in reports:
        assert_report_shape(r)
        assert r["valid"] is True
    assert [r["kind"] for r in reports] == ["status", "edoc"]


def test_any_invalid_exits_1(capsys: pytest.CaptureFixture[str], fixtures_dir: Path) -> None:
    files = [
        str(fixtures_dir / "status-02.edxml"),
        str(CASES / "xxe-file-passwd.edxml"),
        str(CASES / "empty.bin"),
        str(fixtures_dir / "status-03.edxml"),
    ]
    code, reports, _ = run(["edxml", "check", *files], capsys)
    assert code == 1
    assert [r["file"] for r in reports] == files, "every file is reported, in order"
    for r in reports:
        assert_report_shape(r)
    assert [r["valid"] for r in reports] == [True, False, False, True]
    assert [r["code"] for r in reports] == [
        None, "edxml.doctype_forbidden", "edxml.empty", None,
    ]
    refused = reports[1]
    assert refused["kind"] is None and refused["from"] is None and refused["to"] == []
    assert refused["errors"][0]["severity"] == "error"


def test_warnings_do_not_fail_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, reports, _ = run(["edxml", "check", str(CASES / "trace-organid-null.edxml")], capsys)
    assert code == 0
    (r,) = reports
    assert_report_shape(r)
    assert r["valid"] is True
    assert [w["code"] for w in r["warnings"]] == ["edxml.trace_organ_missing"]
    assert r["warnings"][0]["path"].endswith("/TraceHeader[1]")


def test_a_refused_document_still_reports_what_was_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, reports, _ = run(["edxml", "check", str(CASES / "priority-5.edxml")], capsys)
    assert code == 1
    (r,) = reports
    assert r["code"] == "edxml.priority_invalid"
    assert r["kind"] == "edoc" and r["from"] == "000.00.15.H51"
    assert r["errors"][0]["path"].endswith("/OtherInfo/Priority")
    assert isinstance(r["errors"][0]["line"], int)


def test_no_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, reports, err = run(["edxml", "check"], capsys)
    assert code == 2
    assert reports == []
    assert "FILE" in err


def test_unknown_option_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    code, reports, err = run(
        ["edxml", "check", "--no-such-option", str(fixtures_dir / "status-01.edxml")], capsys
    )
    assert code == 2
    assert reports == []
    assert "--no-such-option" in err


def test_missing_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.edxml"
    code, reports, err = run(["edxml", "check", str(missing)], capsys)
    assert code == 2
    assert reports == []
    assert str(missing) in err


def test_directory_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixtures_dir: Path
) -> None:
    good = str(fixtures_dir / "status-01.edxml")
    code, reports, err = run(["edxml", "check", good, str(tmp_path)], capsys)
    assert code == 2
    assert [r["file"] for r in reports] == [good], "files before the bad one are reported"
    assert str(tmp_path) in err


def test_unreadable_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Permission bits do not stop root (CI containers), so the refusal is simulated.
    locked = tmp_path / "locked.edxml"
    locked.write_bytes(b"<edXML/>")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == locked.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, reports, err = run(["edxml", "check", str(locked)], capsys)
    assert code == 2
    assert reports == []
    assert "cannot read" in err and "Permission denied" in err


def test_console_entry_point_exit_codes(fixtures_dir: Path) -> None:
    """The real process: `python -m adapters.cli`, stdout one JSON object per line."""
    env = {k: v for k, v in os.environ.items() if k != "AXIS_CONFIG"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "adapters.cli", "edxml", "check", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
        )

    ok = cli(str(fixtures_dir / "status-01.edxml"), str(fixtures_dir / "status-06.edxml"))
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert_report_shape(json.loads(line))
    bad = cli(str(fixtures_dir / "status-01.edxml"), str(CASES / "billion-laughs.edxml"))
    assert bad.returncode == 1
    assert json.loads(bad.stdout.splitlines()[1])["code"] == "edxml.doctype_forbidden"
    assert cli().returncode == 2
