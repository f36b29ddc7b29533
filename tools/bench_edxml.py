"""Benchmark: parse + validate throughput and peak memory (not a test; writes a report).

    python tools/bench_edxml.py [--seconds 3] [--report reports/bench_edxml.json]

Throughput runs in this process, one thread (one core), on: a ~5 KB package built with
the node's builder, and the real 360 KB fixture `edoc-new.edxml`. Peak memory is measured
in a fresh child process for a ~50 MB package (a stored zip of incompressible bytes,
base64-encoded), as the growth of the resident set's high-water mark while validating,
with the package bytes already in memory (VmHWM − VmRSS before, from /proc/self/status).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.edxml.model import (  # noqa: E402
    Attachment,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Organ,
    Reference,
)
from axis.edxml.validate import Validator  # noqa: E402
from axis.edxml.writer import build  # noqa: E402
from axis.settings import EdxmlSettings  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "edxml"
PDF_STUB = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 1800 + b"\n%%EOF\n"


def small_package() -> bytes:
    doc = DocumentPackage(
        header=DocumentHeader(
            sender=Organ("000.00.00.H37", name="UBND tỉnh Lạng Sơn", email="ubnd@langson.gov.vn"),
            recipients=(
                Organ("000.00.01.H37", name="Văn phòng UBND tỉnh Lạng Sơn"),
                Organ("000.00.02.H37", name="Sở Nội vụ tỉnh Lạng Sơn"),
            ),
            document_id="000.00.00.H37,2026/11/24,1234/UBND-VP",
            code=DocCode("1234", "UBND-VP"),
            promulgation_place="Lạng Sơn",
            promulgation_date=date(2026, 11, 24),
            subject="V/v triển khai trục liên thông văn bản điện tử nội tỉnh " * 3,
            content="Nội dung chính của văn bản " * 5,
        ),
        references=(Reference("a1", "application/pdf", "van-ban.pdf"),),
        attachments=(Attachment("a1", "van-ban.pdf", "application/pdf", data=PDF_STUB),),
    )
    return build(doc)


def large_package(size: int) -> bytes:
    # base64 in 76-character lines costs 4/3 * 77/76 ≈ 1.351 bytes per byte.
    payload = os.urandom(int(size / 1.36))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("ho-so.pdf", payload)
    doc = DocumentPackage(
        header=DocumentHeader(
            sender=Organ("000.00.00.H37"), recipients=(Organ("000.00.01.H37"),),
            document_id="000.00.00.H37,2026/11/24,1/UBND", code=DocCode("1", "UBND"),
            promulgation_date=date(2026, 11, 24), subject="Hồ sơ lớn",
        ),
        references=(Reference("z", "application/zip", "ho-so.zip"),),
        attachments=(Attachment("z", "ho-so.zip", "application/zip", data=buf.getvalue()),),
    )
    return build(doc)


def throughput(validator: Validator, raw: bytes, seconds: float) -> dict[str, float]:
    assert validator.check(raw).valid, validator.check(raw).errors
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            validator.validate(raw)
        n += 20
    elapsed = time.perf_counter() - start
    return {"bytes": len(raw), "packages": n, "seconds": round(elapsed, 3),
            "per_second": round(n / elapsed, 1)}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def memory_child(path: str) -> None:
    validator = Validator(EdxmlSettings())
    raw = Path(path).read_bytes()
    before = _status_kib("VmRSS")
    t = time.perf_counter()
    parsed = validator.validate(raw)
    elapsed = time.perf_counter() - t
    peak = _status_kib("VmHWM")
    print(json.dumps({
        "bytes": len(raw), "rss_before_kib": before, "hwm_kib": peak,
        "growth_bytes": (peak - before) * 1024, "seconds": round(elapsed, 3),
        "attachment_size": parsed.package.attachments[0].size,  # type: ignore[union-attr]
    }))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--large-mb", type=int, default=50)
    ap.add_argument("--report", default=str(ROOT / "reports" / "bench_edxml.json"))
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    validator = Validator(EdxmlSettings())
    small = small_package()
    medium = (FIXTURES / "edoc-new.edxml").read_bytes()
    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor()
                    or platform.machine(), "cores_used": 1},
        "small": throughput(validator, small, args.seconds),
        "medium": throughput(validator, medium, args.seconds),
    }
    with tempfile.NamedTemporaryFile(suffix=".edxml", delete=False) as fh:
        fh.write(large_package(args.large_mb * 1024 * 1024))
        big = fh.name
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", big],
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        os.unlink(big)
    mem = json.loads(out)
    mem["growth_ratio"] = round(mem["growth_bytes"] / mem["bytes"], 2)
    mem["total_ratio"] = round(
        (mem["growth_bytes"] + mem["bytes"]) / mem["bytes"], 2)
    results["large_memory"] = mem
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(results, indent=2) + "\n")
    s, m = results["small"], results["medium"]
    print(f"parse+validate {s['bytes']:>9} B: {s['per_second']:>8} packages/s")  # type: ignore[index]
    print(f"parse+validate {m['bytes']:>9} B: {m['per_second']:>8} packages/s")  # type: ignore[index]
    print(f"peak memory growth for {mem['bytes']} B: {mem['growth_bytes']} B "
          f"({mem['growth_ratio']}x the package; {mem['total_ratio']}x with the input bytes)"
          f" in {mem['seconds']} s")
    print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
