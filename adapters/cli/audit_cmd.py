"""`axis audit verify`: walk the whole journal (the sealed chain, then the unsealed tail:
axis/journal/audit.py), report the first broken link and the gaps as JSON.

Exit 0 when the chain holds, 1 when it is broken (an edited, removed or inserted entry),
so that a cron job or a monitoring probe can alert on the status alone. It only reads:
the database is opened read-only and never migrated; one that is not at this node's
schema is refused with `node.schema_outdated` (exit 2, `axis db upgrade` fixes it).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from axis.journal.audit import ChainReport
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="audit the evidence journal")
    asub = p.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify", help="check the sealed hash chain and the unsealed tail; print "
                       "{entries, ok, first_broken, reason, sealed_seq, unsealed, gaps …}")
    verify.set_defaults(handler=run_verify)


def verify_report(report: ChainReport) -> dict[str, Any]:
    """The JSON `audit verify` prints (docs/operations.md, "The journal")."""
    return {
        "entries": report.entries,
        "ok": report.ok,
        "first_broken": report.first_broken,
        "reason": report.reason,
        # Chained up to here; the tail after it is checked entry by entry.
        "sealed_seq": report.sealed_seq,
        "unsealed": report.unsealed,
        # Numbers of rolled-back steps, sealed as such.
        "gaps_rolled_back": list(report.gaps_rolled_back),
        # Missing numbers in the tail the sealer has not decided yet (PostgreSQL).
        "gaps_pending": list(report.gaps_pending),
        "gaps_pending_count": report.pending_count,
        # Numbers handed out beyond the last entry.
        "beyond_end": report.beyond_end,
    }


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.cli.db_cmd import open_read_only
    from adapters.store.route_repo import SqlRouteStore

    with open_read_only(settings) as engine:
        report = SqlRouteStore(engine).verify_journal()
    print(json.dumps(verify_report(report), ensure_ascii=False))
    return 0 if report.ok else 1
