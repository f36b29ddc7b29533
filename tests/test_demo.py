"""`axis demo` runs the whole scripted exchange on the embedded default and prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from adapters.demo import run


def test_demo_prints_every_acknowledgement_with_its_time(tmp_path: Path) -> None:
    lines: list[str] = []
    assert run(tmp_path, out=lines.append) == 0
    text = "\n".join(lines)
    assert "accepted (3 transport id" in text
    assert "effective 2026-11-25T07:30:00+07:00 (Art. 11.2)" in text  # 18:30 → next morning
    assert "first in the list: 120/UBND-VP (priority 3)" in text  # the flash one overtakes
    for code in ("01", "02", "03", "04", "05", "06", "15"):
        assert f"receives status {code} from" in text, code
    assert "2026-11-24T09:05:00+07:00  UBND tỉnh              receives status 01 from Sở Nội vụ" \
        in text
    assert (tmp_path / "var" / "axis.sqlite3").is_file()


def test_demo_prints_the_same_table_and_leaves_no_keys_behind(tmp_path: Path) -> None:
    """Two runs of `axis demo` (real processes, default directory) print the same bytes,
    and the temp directory they used holds nothing afterwards: no node, no private keys."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env["TMPDIR"] = str(tmp)  # where tempfile puts the demo's node, CA and agency keys
    outputs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "adapters.cli", "demo"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
        left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
        assert not [p for p in left if p.endswith(".key")], left
        assert left == [], left
    assert outputs[0] == outputs[1]
    assert "receives status 15 from" in outputs[0]
    # The README shows this very output (its "Quick start").
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert outputs[0] in readme
