"""`axis tasks report`: the periodic report on assigned tasks (Art. 14.3.đ; issue 12,
item 5) from the node's task store.

    axis tasks report --period 2026-Q4 --format pdf [--out FILE] [--agency ID]
                      [--lang vi|en] [--as-of TIME] [--issuer TEXT]

Periods: `2026-11`, `2026-Q4`, `2026-H2`, `2026` or `2026-10-01..2026-10-31`, with the
configured start day (`tasks.report_start_day`, 15th → 14th by default). Formats: `pdf`
(signed by the node), `xlsx`, `csv` (the national table), `csv-tasks` (the drill-down
list). Without --out the file goes to standard output, except a PDF or XLSX to a
terminal. With --out, one JSON line {file, size, sha256, period, start, end, as_of,
tasks} is printed. The database is opened read-only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from axis import errors
from axis.clock import as_vietnam
from axis.settings import Settings

FORMATS = ("pdf", "xlsx", "csv", "csv-tasks")


def register(sub: Any) -> None:
    p = sub.add_parser("tasks", help="tasks assigned through documents (Art. 13-16)")
    tsub = p.add_subparsers(dest="tasks_command", required=True)
    r = tsub.add_parser("report", help="the period report per agency: pdf (signed), "
                                       "xlsx, csv, csv-tasks (Art. 14.3.đ)")
    r.add_argument("--period", required=True, metavar="PERIOD",
                   help="2026-11, 2026-Q4, 2026-H2, 2026 or 2026-10-01..2026-10-31")
    r.add_argument("--format", dest="fmt", choices=FORMATS, default="pdf")
    r.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    r.add_argument("--agency", metavar="ID",
                   help="only this lead agency (either identifier form)")
    r.add_argument("--lang", choices=("vi", "en"), default="vi",
                   help="the report's first language (the PDF carries both)")
    r.add_argument("--issuer", default="", metavar="TEXT",
                   help="who publishes it, printed at the top (e.g. the Office's name)")
    r.add_argument("--as-of", dest="as_of", metavar="TIME",
                   help="what was known at TIME (ISO 8601, no offset: +07:00); default now")
    r.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.cli.db_cmd import open_read_only
    from adapters.reports import render
    from adapters.reports.source import load_report
    from adapters.store.registry_repo import SqlRegistryStore
    from adapters.store.task_repo import SqlTaskStore
    from axis.clock import SystemClock
    from axis.tasks.report import PeriodConfig, parse_period
    from axis.trust.sign import node_signer

    if args.out is None and args.fmt in ("pdf", "xlsx") and sys.stdout.isatty():
        raise errors.CONFIG_INVALID.error(f"a {args.fmt} file is not for a terminal: --out FILE")
    now = SystemClock().now()
    as_of = _instant(args.as_of) if args.as_of else now
    period = parse_period(args.period, PeriodConfig(settings.tasks.report_start_day))
    with open_read_only(settings) as engine:
        registry = SqlRegistryStore(engine)
        agency = None
        if args.agency:
            found = registry.find(args.agency)
            if found is None:
                raise errors.REGISTRY_UNKNOWN_AGENCY.error(args.agency)
            agency = found.agency_id
        names = {a.agency_id: a.name for a in registry.list()}
        data = load_report(SqlTaskStore(engine), period, as_of, agency=agency, names=names,
                           issuer=args.issuer)
    signer = node_signer(settings, now) if args.fmt == "pdf" else None
    body = render(data, args.fmt, args.lang, signer)
    if args.out is None:
        sys.stdout.buffer.write(body)
        return 0
    _write(args.out, body)
    print(json.dumps({
        "file": str(args.out), "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
        "period": period.label, "start": period.start.isoformat(),
        "end": period.end.isoformat(), "as_of": data.report.as_of.isoformat(),
        "agency": agency, "tasks": data.report.total.total,
    }, ensure_ascii=False))
    return 0


def _instant(text: str) -> datetime:
    try:
        return as_vietnam(datetime.fromisoformat(text))
    except ValueError as exc:
        raise errors.CONFIG_INVALID.error(f"--as-of {text!r}: not an ISO 8601 time") from exc


def _write(path: Path, data: bytes) -> None:
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # whole or not at all: a half-written signed PDF is no report
    except OSError as exc:
        raise errors.CONFIG_INVALID.error(f"{path}: {exc}") from exc
