"""`axis audit verify`: walk the whole journal (the sealed chain, then the unsealed tail:
axis/journal/audit.py), report the first broken link and the gaps as JSON.

Exit 0 when the chain holds, 1 when it is broken (an edited, removed or inserted entry),
so that a cron job or a monitoring probe can alert on the status alone. With `--checkpoint
FILE_OR_DIR` (issue 11) it also checks the journal against a signed checkpoint (the
file, or the latest in the directory: adapters/store/checkpoints.py): `checkpoint.verdict`
is `ok`, `truncated` (sealed entries it vouched for are gone), `rolled_back` (the entry at
its seq was rewritten) or `refused` (the file is not one the node signed); anything but
`ok` exits 1 too, and the top-level `ok` is then the chain's and the checkpoint's.

It only reads: the database is opened read-only and never migrated; one that is not at
this node's schema is refused with `node.schema_outdated` (exit 2, `axis db upgrade`
fixes it). `axis audit checkpoint` writes: it seals and signs a checkpoint now.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from adapters.cli import audit_bundle_cmd, audit_replay_cmd
from axis import errors
from axis.clock import iso
from axis.journal.audit import ChainReport
from axis.journal.checkpoint import Checkpoint
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="audit the evidence journal")
    asub = p.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify", help="check the sealed hash chain and the unsealed tail; print "
                       "{entries, ok, first_broken, reason, sealed_seq, unsealed, gaps …}")
    verify.add_argument(
        "--checkpoint", type=Path, metavar="FILE_OR_DIR",
        help="also check against this signed checkpoint (a directory: its latest)")
    verify.add_argument(
        "--cert", type=Path, action="append", default=[], metavar="PEM",
        help="the node certificate checkpoints must be signed with (repeatable; default: "
             "the node's own, trust.node_cert or data_dir/node/node.pem)")
    verify.set_defaults(handler=run_verify)
    take = asub.add_parser(
        "checkpoint", help="seal the journal and sign a checkpoint of it now; print "
                           "{seq, head, at, new, file}")
    take.set_defaults(handler=run_checkpoint)
    audit_bundle_cmd.register(asub)  # export, verify-bundle (adapters/cli/audit_bundle_cmd.py)
    audit_replay_cmd.register(asub)  # axis audit replay (adapters/cli/audit_replay_cmd.py)


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
    from adapters.store.checkpoints import verdict_report
    from adapters.store.route_journal import link_at
    from adapters.store.route_repo import READ_ONLY, SqlRouteStore

    given = _given_checkpoint(args, settings) if args.checkpoint is not None else None
    with open_read_only(settings) as engine:
        report = SqlRouteStore(engine).verify_journal()
        link: str | None = None
        cp = given[1] if given is not None else None
        if isinstance(cp, Checkpoint) and cp.seq:
            with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                link = link_at(conn, cp.seq)
    out = verify_report(report)
    ok = report.ok
    if given is not None:
        out["checkpoint"] = checked = verdict_report(given, report.sealed_seq, link)
        ok = ok and checked["verdict"] == "ok"
        out["ok"] = ok
    print(json.dumps(out, ensure_ascii=False))
    return 0 if ok else 1


def _trusted(args: argparse.Namespace, settings: Settings) -> set[str]:
    """Fingerprints of the certificates a checkpoint may be signed with."""
    from axis.trust import pki
    from axis.trust.verdict import fingerprint

    paths = list(args.cert) or [p for p in (settings.trust.node_cert,
                                             settings.data_dir / "node" / "node.pem")
                                if p is not None][:1]
    found: set[str] = set()
    for path in paths:
        if path.is_file():
            found.update(fingerprint(c) for c in pki.load_certs(path)[:1])
        elif args.cert:
            raise errors.CONFIG_INVALID.error(f"{path}: no such certificate file")
    return found


def _given_checkpoint(
    args: argparse.Namespace, settings: Settings
) -> tuple[Path, Checkpoint] | tuple[Path, str]:
    """(file, the checkpoint) when its signature holds; (file, why not) otherwise."""
    from adapters.store.checkpoints import judge_file, latest_given

    return judge_file(latest_given(args.checkpoint), _trusted(args, settings))


def run_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    """What the `journal.checkpoint` job does, now (for an operator before a backup or a
    migration): seal, then sign and export a checkpoint of the seal head."""
    from adapters.cli.db_cmd import _url
    from adapters.store import migrate
    from adapters.store.checkpoints import SqlCheckpoints, export_dir
    from adapters.store.db import make_engine
    from adapters.store.route_repo import SqlRouteStore
    from axis.clock import SystemClock
    from axis.trust.sign import node_signer

    at = SystemClock().now()
    engine = make_engine(_url(settings))
    try:
        migrate.require_current(engine)
        store = SqlRouteStore(engine)
        done = store.seal_journal(at)
        if done.broken:
            raise errors.JOURNAL_BROKEN.error(done.broken)
        taken = SqlCheckpoints(engine, export_dir(settings)).take(
            at, node_signer(settings, at))
    finally:
        engine.dispose()
    cp = taken.checkpoint
    print(json.dumps({"seq": cp.seq, "head": cp.head, "at": iso(cp.at), "new": taken.new,
                      "file": str(taken.path) if taken.path else None}))
    return 0
