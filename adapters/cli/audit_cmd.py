"""`axis audit verify`: walk the whole journal, report the first broken link as JSON.

Exit 0 when the chain holds, 1 when it is broken (an edited, removed or inserted entry),
so that a cron job or a monitoring probe can alert on the status alone. It only reads:
the database is opened read-only and never migrated; one that is not at this node's
schema is refused with `node.schema_outdated` (exit 2, `axis db upgrade` fixes it).
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
    from adapters.cli.db_cmd import open_read_only
    from adapters.store.route_repo import SqlRouteStore

    with open_read_only(settings) as engine:
        report = SqlRouteStore(engine).verify_journal()
    print(json.dumps({
        "entries": report.entries,
        "ok": report.ok,
        "first_broken": report.first_broken,
        "reason": report.reason,
    }, ensure_ascii=False))
    return 0 if report.ok else 1
