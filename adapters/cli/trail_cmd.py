"""`axis trail DOCUMENT_ID`: every recipient's full history of a document.

Received, delivered (with the Art. 11.2 effective receipt time), each status, recall and
withdrawal, in the order they happened, all in ISO 8601 Vietnam time. It only reads: the
database is opened read-only and never migrated (adapters/cli/db_cmd.py).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from axis.clock import iso
from axis.route.model import TrailEntry
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("trail", help="a document's history, per recipient")
    p.add_argument("document_id", metavar="DOCUMENT_ID")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.set_defaults(handler=run)


def as_dict(e: TrailEntry) -> dict[str, object]:
    return {
        "at": iso(e.at),
        "agency": e.agency_id,
        "event": e.event.value,
        "status_code": e.status_code,
        "delivery_id": e.delivery_id,
        "effective_at": iso(e.effective_at) if e.effective_at else None,
        "detail": e.detail,
    }


def render(entries: list[TrailEntry]) -> str:
    rows = [("time", "agency", "event", "status", "effective receipt", "delivery")]
    rows += [(iso(e.at), e.agency_id, e.event.value, e.status_code or "",
              iso(e.effective_at) if e.effective_at else "", e.delivery_id or "")
             for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.cli.db_cmd import open_read_only
    from adapters.store.route_repo import SqlRouteStore

    with open_read_only(settings) as engine, SqlRouteStore(engine).reading() as tx:
        entries = tx.trail(args.document_id)
    if not entries:
        print(f"axis trail: no history for {args.document_id!r}")
        return 1
    if args.json:
        for e in entries:
            print(json.dumps(as_dict(e), ensure_ascii=False))
    else:
        print(render(entries))
    return 0
