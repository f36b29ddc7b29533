"""Write docs/errors.md from the catalogue in axis/errors.py (a test keeps them in sync)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.errors import CATALOGUE  # noqa: E402

HEAD = """# Error and warning codes

Every refusal the node sends carries one of these codes, with its message in Vietnamese
and English and an error id that also appears in the node's logs. Codes are stable: a
published code never changes meaning. *Fault* says whose fault it is: `sender` (refused,
never retried; HTTP 4xx) or `node` (retried, alerted; HTTP 5xx). Warnings do not refuse a
package; they are reported beside it.

Generated from `axis/errors.py` by `python tools/gen_errors_doc.py`; a test fails when
this file and the catalogue disagree.

| code | severity | fault | HTTP | meaning | message (vi) | message (en) |
|---|---|---|---|---|---|---|
"""


def render() -> str:
    rows = [
        f"| `{c.id}` | {c.severity.value} | {c.fault.value} | {c.http_status} | "
        f"{c.meaning} | {c.vi} | {c.en} |"
        for c in sorted(CATALOGUE.values(), key=lambda c: c.id)
    ]
    return HEAD + "\n".join(rows) + "\n"


if __name__ == "__main__":
    out = ROOT / "docs" / "errors.md"
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out} ({len(CATALOGUE)} codes)")
