"""The `axis` entry point as a shell user meets it: `--version`, and output piped into a
reader that stops early (`axis … | head`), run as real processes on real pipes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

AXIS = [sys.executable, "-m", "adapters.cli"]


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    done = subprocess.run([*AXIS, "--version"], capture_output=True, text=True,
                          cwd=tmp_path, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"axis {metadata.version('axis-node')}"


def _piped(argv: list[str], cwd: Path, *, read_lines: int) -> tuple[int, str]:
    """Run `axis argv` into a reader that takes `read_lines` lines and closes the pipe
    (`| head -n N`; 0: the reader is gone before anything is written)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env["AXIS_DATA_DIR"] = str(cwd / "var")
    proc = subprocess.Popen([*AXIS, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=cwd, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    for _ in range(read_lines):
        assert proc.stdout.readline(), "the command printed less than expected"
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    return proc.wait(timeout=120), err


# name: (argv, lines the reader takes, a seeded registry needed, exit codes allowed)
CASES: dict[str, tuple[list[str], int, bool, set[int]]] = {
    # JSON lines, flushed one by one: a write after the reader left fails mid-command.
    "edxml-check-lines": (["edxml", "check", *["{fixtures}/status-01.edxml"] * 400], 1, False,
                          {128 + signal.SIGPIPE}),
    # A table printed line by line, the reader gone before the first one.
    "registry-list": (["registry", "list"], 0, True, {128 + signal.SIGPIPE}),
    # argparse's own output ends in SystemExit; argparse drops a failed write itself.
    "version": (["--version"], 0, False, {0, 128 + signal.SIGPIPE}),
    "help": (["--help"], 0, False, {0, 128 + signal.SIGPIPE}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_reader_that_closes_early_ends_the_command_quietly(
    case: str, fixtures_dir: Path, tmp_path: Path
) -> None:
    template, read_lines, seeded, codes = CASES[case]
    if seeded:
        seed = subprocess.run([*AXIS, "registry", "seed"], cwd=tmp_path, capture_output=True,
                              env={**os.environ, "AXIS_DATA_DIR": str(tmp_path / "var")},
                              check=False, timeout=120)
        assert seed.returncode == 0, seed.stderr
    argv = [a.format(fixtures=fixtures_dir) for a in template]
    code, err = _piped(argv, tmp_path, read_lines=read_lines)
    # No traceback, no "Exception ignored … BrokenPipeError" at exit: nothing at all.
    assert err == ""
    # What a Unix tool stopped by SIGPIPE reports to its shell (128 + 13).
    assert code in codes
