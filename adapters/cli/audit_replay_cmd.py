"""`axis audit replay --from T1 --to T2 [--agency ID] [--document ID] [--json]` (issue 11,
item 2; axis/journal/replay.py): the packages recorded in the period judged again by
today's pipeline in a sandbox, at their recorded time, against the registry and the trust
settings as they were then; every decision that differs is reported.

The report is JSON on standard output (with --json, or when it is not a terminal; a
short summary on a terminal otherwise), a progress bar on standard error when that is a
terminal. Exit 0: no difference; 1: differences; 2: the replay could not run. The real
database is opened read-only and never migrated.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO

from axis import errors
from axis.clock import VN_TZ, as_vietnam
from axis.settings import Settings


def register(asub: Any) -> None:
    p = asub.add_parser(
        "replay", help="judge the packages recorded in a period again with today's "
                       "pipeline, as of then; report the decisions that differ")
    p.add_argument("--from", dest="start", required=True, metavar="T1",
                   help="ISO 8601 time or date (+07:00 when no offset is given)")
    p.add_argument("--to", dest="end", required=True, metavar="T2",
                   help="ISO 8601 time, or a date: to the end of that day")
    p.add_argument("--agency", help="only packages from or to this agency (either form)")
    p.add_argument("--document", help="only packages about this DocumentId")
    p.add_argument("--json", action="store_true", help="the JSON report, even on a terminal")
    p.set_defaults(handler=run_replay)


def parse_instant(text: str, *, end: bool = False) -> datetime:
    """An ISO 8601 instant, or a date (its start; its end with `end`)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                return datetime.combine(day + timedelta(days=1), time(), VN_TZ) - (
                    timedelta(microseconds=1))
            return datetime.combine(day, time(), VN_TZ)
        return as_vietnam(datetime.fromisoformat(text))
    except ValueError as exc:
        raise errors.CONFIG_INVALID.error(f"{text!r}: not an ISO 8601 time or date") from exc


class Bar:
    """A progress bar on a terminal; nothing elsewhere (a log would only fill up)."""

    def __init__(self, out: TextIO) -> None:
        self._out, self._on = out, out.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self._on or total <= 0:
            return
        width = 30
        full = width * done // total
        self._out.write(f"\rreplay [{'#' * full}{'.' * (width - full)}] {done}/{total}")
        if done == total:
            self._out.write("\n")
        self._out.flush()


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = replay_report(settings, start=parse_instant(args.start),
                               end=parse_instant(args.end, end=True),
                               agency=args.agency or "", document=args.document or "",
                               progress=Bar(sys.stderr))
    except errors.AxisError as exc:
        print(f"axis: {exc.code.id}: {exc.detail or exc.code.en}", file=sys.stderr)
        return 2
    if args.json or not sys.stdout.isatty():
        print(json.dumps(report, ensure_ascii=False, sort_keys=True))
    else:
        print(summary(report))
    return 0 if report["ok"] else 1


def replay_report(settings: Settings, *, start: datetime, end: datetime, agency: str = "",
                  document: str = "", progress: Any = None) -> dict[str, Any]:
    """The replay's JSON report (docs/operations.md, "Replay")."""
    from adapters.cli.db_cmd import open_read_only
    from adapters.replay_sandbox import NodeSandbox
    from adapters.store.blobs import FileBlobs
    from adapters.store.refused_repo import SqlRefusedEvidence
    from adapters.store.registry_repo import SqlRegistryStore
    from adapters.store.replay_source import SqlReplaySource
    from axis.journal.replay import Filters, replay

    if end < start:
        raise errors.CONFIG_INVALID.error("--to is before --from")
    with open_read_only(settings) as engine:
        forms = {agency} if agency else set()
        found = SqlRegistryStore(engine).find(agency) if agency else None
        if found is not None:
            forms = {found.agency_id, found.short_id}
        source = SqlReplaySource(
            engine, FileBlobs(settings.data_dir / "packages"),
            SqlRefusedEvidence(engine, settings.data_dir / "refused",
                               max_bytes=settings.audit.refused_max_bytes))
        with NodeSandbox(settings, engine, start) as sandbox:
            report = replay(source, sandbox, start=start, end=end,
                            filters=Filters(frozenset(forms), document), progress=progress)
            report.notes += tuple(sandbox.notes)
    return report.as_dict()


def summary(report: dict[str, Any]) -> str:
    lines = [f"replay {report['from']} … {report['to']}: {report['packages']} packages, "
             f"{report['replayed']} replayed, {report['same']} the same, "
             f"{len(report['differences'])} different, {len(report['skipped'])} skipped"]
    for d in report["differences"]:
        lines.append(f"  seq {d['seq']} {d['at']} {d['document_id'] or d['sha256'][:16]}: "
                     f"{', '.join(d['differs'])}: {json.dumps(d['recorded'])} → "
                     f"{json.dumps(d['replayed'])}")
    lines.append("(--json for the full report)")
    return "\n".join(lines)
