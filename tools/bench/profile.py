"""Where the node's time goes: py-spy's collapsed stacks (`--format raw`, one line per
stack: `frame;frame;… count`) summed by function, own time (the innermost frame) and
inclusive time (anywhere on the stack, once per sample)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


def _function(frame: str) -> str:
    # py-spy frames read "name (path/file.py:line)": the line number is dropped so that
    # a function's samples add up; long site-packages paths are cut to the package.
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";") if f]
        # Thread and process labels py-spy puts first are not functions.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
    share = max(total, 1)
    return {
        "samples": total,
        "own": [(f, round(100 * n / share, 1)) for f, n in own.most_common(top)],
        "inclusive": [(f, round(100 * n / share, 1)) for f, n in inclusive.most_common(top)],
        # The node's own code (axis/, adapters/): where in the node the time is spent.
        "node_inclusive": [(f, round(100 * n / share, 1)) for f, n in inclusive.most_common()
                           if f.endswith(".py)") and (" (axis/" in f or " (adapters/" in f)
                           ][:top],
    }
