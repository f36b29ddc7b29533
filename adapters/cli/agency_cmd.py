"""`axis agency …`: the agency API by hand, as an agency's system would use it.

    axis agency --url URL --system-id ID --secret SECRET send FILE
    axis agency --url URL --credentials FILE send FILE     (FILE: what `credentials issue` printed)
    … pull [--type edoc|status]          what waits, one JSON object per line
    … get DOCID_OR_DOCUMENT_ID -o FILE   the package (taking it delivers it, Art. 11.2)
    … status DOCID_OR_DOCUMENT_ID CODE [--reason TEXT] --key KEY --cert CERT
    … update DOCID processing|done|fail  the transport state of a copy
    … trail DOCUMENT_ID                  the history of one of our documents
    … agencies                           the registry as agencies see it

The secret may come from AXIS_AGENCY_SECRET, or with the system id from a credentials
file (`--credentials`), instead of the command line (where other users of the machine
could read it in the process list).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from adapters.client.agency import AgencyApiError, AgencyClient
from axis.clock import VN_TZ
from axis.edxml import safexml
from axis.edxml.model import DocumentPackage, Organ, ResponseFor, StatusCode, StatusHeader
from axis.edxml.model import StatusPackage as StatusPkg
from axis.edxml.reader import read_tree
from axis.edxml.writer import build
from axis.settings import Settings


class UsageError(Exception):
    """Something the person at the keyboard can fix."""


def register(sub: Any) -> None:
    p = sub.add_parser("agency", help="call a node's agency API (send, pull, get, status …)")
    p.add_argument("--url", default=os.environ.get("AXIS_AGENCY_URL"),
                   help="the node, e.g. http://127.0.0.1:8080 (or AXIS_AGENCY_URL)")
    p.add_argument("--system-id", default=os.environ.get("AXIS_AGENCY_SYSTEM_ID"),
                   help="from `axis registry credentials issue` (or AXIS_AGENCY_SYSTEM_ID)")
    p.add_argument("--secret", default=os.environ.get("AXIS_AGENCY_SECRET"),
                   help="its secret (better: AXIS_AGENCY_SECRET or --credentials)")
    p.add_argument("--credentials", type=Path, metavar="FILE",
                   help="the JSON `axis registry credentials issue` printed (system_id, "
                        "secret): instead of --system-id and --secret")
    a = p.add_subparsers(dest="agency_command", required=True)

    c = a.add_parser("send", help="send a signed package; prints the receipt as JSON")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--type", choices=("edoc", "status"), help="messageType (default: any)")
    c.add_argument("--raw", action="store_true", help="the package as the body, not multipart")

    c = a.add_parser("pull", help="list what waits, one JSON object per line")
    c.add_argument("--type", choices=("edoc", "status"))
    c.add_argument("--since", type=datetime.fromisoformat, help="ISO 8601")
    c.add_argument("--until", type=datetime.fromisoformat, help="ISO 8601")

    c = a.add_parser("get", help="download a package (taking it delivers it)")
    c.add_argument("doc_id", metavar="DOCID_OR_DOCUMENT_ID",
                   help="the transport id from pull, or the DocumentId of a copy that waits")
    c.add_argument("-o", "--output", required=True, metavar="FILE")

    c = a.add_parser("status", help="send a status package 01–16 about a document")
    c.add_argument("target", metavar="DOCID_OR_DOCUMENT_ID")
    c.add_argument("code", metavar="CODE", choices=[s.value for s in StatusCode])
    c.add_argument("--reason", default="", help="Description (required for 02, Art. 6.4)")
    c.add_argument("--key", required=True, help="signing key (PEM)")
    c.add_argument("--cert", required=True, help="signing certificate (PEM)")
    c.add_argument("--from", dest="sender", help="From (default: the authenticated agency)")
    c.add_argument("--to", help="ResponseFor/OrganId (default: the document's sender; "
                               "for 13, the recipient whose copy is taken back)")

    c = a.add_parser("update", help="updateStatus: the transport state of a copy")
    c.add_argument("doc_id", metavar="DOCID")
    c.add_argument("state", choices=("processing", "done", "fail"))

    c = a.add_parser("trail", help="the history of one of our documents")
    c.add_argument("document_id", metavar="DOCUMENT_ID")

    a.add_parser("agencies", help="the registry as agencies see it")
    p.set_defaults(handler=run)


def _print(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _credentials(args: argparse.Namespace) -> None:
    """Fill --system-id and --secret from --credentials (it wins over the environment)."""
    if args.credentials is None:
        return
    try:
        cred = json.loads(args.credentials.read_text(encoding="utf-8"))
        args.system_id, args.secret = str(cred["system_id"]), str(cred["secret"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{args.credentials}: not a credentials file with system_id and "
                         f"secret ({exc})") from exc


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        _credentials(args)
    except UsageError as exc:
        print(f"axis agency: {exc}", file=sys.stderr)
        return 2
    missing = [n for n in ("url", "system_id", "secret") if not getattr(args, n)]
    if missing:
        print(f"axis agency: give --{', --'.join(m.replace('_', '-') for m in missing)}",
              file=sys.stderr)
        return 2
    try:
        with AgencyClient(args.url, args.system_id, args.secret) as client:
            return _dispatch(client, args, settings)
    except AgencyApiError as exc:
        _print_error(exc)
        return 1
    except httpx.HTTPError as exc:
        print(f"axis agency: {args.url}: {exc}", file=sys.stderr)
        return 2
    except (UsageError, OSError) as exc:
        print(f"axis agency: {exc}", file=sys.stderr)
        return 2


def _print_error(exc: AgencyApiError) -> None:
    body = {"status": exc.status, "code": exc.code, "message_vi": exc.message_vi,
            "message_en": exc.message_en, "error_id": exc.error_id, "detail": exc.detail}
    print(json.dumps(body, ensure_ascii=False), file=sys.stderr)


def _dispatch(client: AgencyClient, args: argparse.Namespace, settings: Settings) -> int:
    cmd = args.agency_command
    if cmd == "send":
        _print(client.send(Path(args.file).read_bytes(), message_type=args.type,
                           multipart=not args.raw, filename=Path(args.file).name))
    elif cmd == "pull":
        for item in client.pull(message_type=args.type, since=args.since, until=args.until):
            _print(item)
    elif cmd == "get":
        doc_id = _copy_of(client, args.doc_id)
        raw, headers = client.get(doc_id)
        Path(args.output).write_bytes(raw)
        _print({"doc_id": doc_id, "file": args.output, "bytes": len(raw), **headers})
    elif cmd == "status":
        return _status(client, args, settings)
    elif cmd == "update":
        _print(client.update_status(args.doc_id, args.state))
    elif cmd == "trail":
        for event in client.trail(args.document_id)["events"]:
            _print(event)
    else:
        for agency in client.agencies()["agencies"]:
            _print(agency)
    return 0


def _copy_of(client: AgencyClient, target: str) -> str:
    """A transport id as it is; a business DocumentId (comma form, spec §2) names the
    copy of that document that waits for the caller."""
    if "," not in target:
        return target
    found = [item["doc_id"] for item in client.pull(message_type="edoc")
             if item.get("document_id") == target]
    if len(found) != 1:
        raise UsageError(f"{len(found) or 'no'} copies of {target!r} wait for you: "
                         "give the transport id (doc_id) from `pull`")
    return str(found[0])


def _status(client: AgencyClient, args: argparse.Namespace, settings: Settings) -> int:
    from axis.trust.sign import NodeSigner

    code = StatusCode(args.code)
    original, document_id = _about(client, args.target, args.to, settings)
    if original is None:
        raise UsageError("say whom the status goes to with --to")
    sender = args.sender or str(client.agencies()["caller"])
    package = StatusPkg(header=StatusHeader(
        sender=Organ(sender), response_for=ResponseFor(organ_id=original,
                                                       document_id=document_id),
        status_code=code, description=args.reason, timestamp=datetime.now(VN_TZ)))
    signer = NodeSigner.from_files(Path(args.key), Path(args.cert), limits=settings.edxml)
    _print(client.send(signer.sign(build(package)), message_type="status"))
    return 0


def _about(client: AgencyClient, target: str, to: str | None,
           settings: Settings) -> tuple[str | None, str]:
    """(ResponseFor/OrganId, DocumentId) for a transport id of a copy we received, or
    for a business DocumentId (whose first part names its issuer, spec §2)."""
    try:
        raw, _ = client.get(target)  # taking our copy again is harmless (idempotent)
    except AgencyApiError as exc:
        if exc.code != "route.delivery_unknown":
            raise
        issuer = target.split(",", 1)[0] if "," in target else None
        return to or issuer, target
    package, _ = read_tree(safexml.parse(raw, settings.edxml), settings.edxml)
    if not isinstance(package, DocumentPackage):
        raise UsageError(f"{target} is a status package: a status is about a document")
    return to or package.sender_id, package.header.document_id
