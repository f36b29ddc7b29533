"""`axis audit verify`: walk the whole journal, report the first broken link as JSON.

Exit 0 when the chain holds, 1 when it is broken (an edited, removed or inserted entry),
so that a cron job or a monitoring probe can alert on the status alone.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="audit the evidence journal")
    asub = p.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify", help="check the whole hash chain; print {entries, ok, first_broken, reason}")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.store import migrate
    from adapters.store.db import database_url, make_engine
    from adapters.store.route_repo import SqlRouteStore

    engine = make_engine(database_url(settings.database_url, settings.data_dir))
    try:
        # Like every entry point: the schema first (a fresh node has an empty, valid
        # journal). Migrations only add tables and never touch journal rows.
        migrate.upgrade(engine)
        report = SqlRouteStore(engine).verify_journal()
    finally:
        engine.dispose()
    print(json.dumps({
        "entries": report.entries,
        "ok": report.ok,
        "first_broken": report.first_broken,
        "reason": report.reason,
    }, ensure_ascii=False))
    return 0 if report.ok else 1
