"""`axis demo` runs the whole scripted exchange on the embedded default and prints it."""

from __future__ import annotations

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
