"""`axis audit export` and `axis audit verify-bundle` (issue 11, item 3; the format:
docs/evidence-bundle.md).

`export --document ID [--out FILE]` or `export --from T1 --to T2 [--agency ID] --out FILE`
writes one evidence bundle (adapters/store/evidence.py) and prints {file, size, sha256,
documents, checkpoint}. It writes to the database only as the node itself would: it
seals the journal and, when no checkpoint covers the entries yet, signs one (as `axis
audit checkpoint`), so the database must be at this node's schema.

`verify-bundle FILE [--cert PEM]` opens no database and no connection: it checks the
bundle alone (axis/journal/bundle_verify.py) and prints the report; exit 0 when it holds,
1 when not (each problem names the part). Without --cert the signatures are checked
against the bundle's own certificate and the report says so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axis import errors
from axis.clock import as_vietnam
from axis.settings import Settings
from axis.trust.sign import NodeSigner

if TYPE_CHECKING:  # imported when run: the CLI starts fast
    from adapters.store.route_repo import SqlRouteStore

MAX_BUNDLE = 4 * 1024**3  # a stored ZIP without ZIP64: no member, no file beyond 4 GiB


def register(asub: Any) -> None:
    export = asub.add_parser(
        "export", help="write the evidence bundle of a document (--document) or of a "
                       "period (--from/--to [--agency]); print {file, size, sha256 …}")
    export.add_argument("--document", metavar="ID", help="the document's DocumentId")
    export.add_argument("--from", dest="start", metavar="T1",
                        help="packages received from T1 (ISO 8601; no offset: +07:00)")
    export.add_argument("--to", dest="end", metavar="T2", help="… up to T2, excluded")
    export.add_argument("--agency", metavar="ID",
                        help="with --from/--to: only documents this agency sent or received")
    export.add_argument("--out", type=Path, metavar="FILE",
                        help="the bundle file (default for --document: "
                             "evidence-<document>.zip here)")
    export.set_defaults(handler=run_export)
    check = asub.add_parser(
        "verify-bundle", help="check an evidence bundle offline (no database, no network); "
                              "print {ok, problems …}; exit 0 ok, 1 not")
    check.add_argument("file", type=Path, metavar="FILE")
    check.add_argument("--cert", type=Path, metavar="PEM",
                       help="the node's certificate (default: the bundle's own, reported)")
    check.set_defaults(handler=run_verify_bundle)


@dataclass(frozen=True, slots=True)
class _CliNode:
    """What an export needs of the node (adapters/store/evidence.EvidenceNode)."""

    settings: Settings
    store: SqlRouteStore
    signer: NodeSigner


def _instant(text: str, flag: str) -> datetime:
    try:
        return as_vietnam(datetime.fromisoformat(text))
    except ValueError as exc:
        raise errors.CONFIG_INVALID.error(f"{flag} {text!r}: not an ISO 8601 time") from exc


def default_name(document_id: str) -> Path:
    """A file name for a DocumentId ("000.00.00.H37,2026/11/24,1/UBND-VP" has slashes)."""
    return Path("evidence-" + re.sub(r"[^A-Za-z0-9._-]+", "_", document_id) + ".zip")


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.cli.db_cmd import _url
    from adapters.store import evidence, migrate
    from adapters.store.db import make_engine
    from adapters.store.route_repo import SqlRouteStore
    from axis.clock import SystemClock
    from axis.trust.sign import node_signer

    by_period = args.start is not None or args.end is not None
    if by_period == (args.document is not None) or (by_period and not (
            args.start and args.end and args.out)):
        raise errors.CONFIG_INVALID.error(
            "give --document ID, or --from T1 --to T2 [--agency ID] --out FILE")
    out: Path = args.out or default_name(args.document)
    at = SystemClock().now()
    engine = make_engine(_url(settings))
    try:
        migrate.require_current(engine)
        node = _CliNode(settings, SqlRouteStore(engine), node_signer(settings, at))
        if by_period:
            data = evidence.export_period(node, _instant(args.start, "--from"),
                                          _instant(args.end, "--to"), at, args.agency)
        else:
            data = evidence.export_document(node, args.document, at)
    finally:
        engine.dispose()
    _write(out, data)
    summary = _summary(data)
    print(json.dumps({"file": str(out), "size": len(data),
                      "sha256": hashlib.sha256(data).hexdigest(), **summary},
                     ensure_ascii=False))
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # whole or not at all: a half bundle would read as tampered
    except OSError as exc:
        raise errors.CONFIG_INVALID.error(f"{path}: {exc}") from exc


def _summary(data: bytes) -> dict[str, Any]:
    from axis.journal.bundle_verify import verify

    report = verify(data).as_json()
    return {"verified": report["ok"], "documents": report["documents"],
            "entries": report["entries"],
            "packages": report["packages"], "checkpoint": report["checkpoint"]}


def run_verify_bundle(args: argparse.Namespace, settings: Settings) -> int:
    from axis.journal.bundle_verify import verify

    data = _read(args.file, MAX_BUNDLE)
    cert = _read(args.cert, 1024 * 1024) if args.cert is not None else None
    report = verify(data, cert_pem=cert)
    print(json.dumps({"file": str(args.file), **report.as_json()}, ensure_ascii=False))
    return 0 if report.ok else 1


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise errors.CONFIG_INVALID.error(f"{path}: {exc}") from exc
    if len(data) > limit:
        raise errors.CONFIG_INVALID.error(f"{path}: larger than {limit} bytes")
    return data
