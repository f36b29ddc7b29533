"""`axis edxml check FILE...`: one JSON object per file, on its own line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from axis.edxml.model import DocumentPackage, StatusPackage
from axis.edxml.validate import CheckResult, Validator
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("edxml", help="work with edXML packages")
    esub = p.add_subparsers(dest="edxml_command", required=True)
    check = esub.add_parser("check", help="read, validate and report packages as JSON lines")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=run_check)


def report(name: str, result: CheckResult) -> dict[str, Any]:
    p = result.package
    out: dict[str, Any] = {
        "file": name,
        "kind": p.kind.value if p else None,
        "valid": result.valid,
        "code": result.errors[0].code.id if result.errors else None,
        "errors": [f.as_dict() for f in result.errors],
        "warnings": [f.as_dict() for f in result.warnings],
        "business_type": None,
        "status_code": None,
        "from": p.sender_id if p else None,
        "to": list(p.recipient_ids) if p else [],
        "document_id": None,
        "priority": None,
        "attachments": [],
        "signature": p.signature.value if p else None,
    }
    if isinstance(p, DocumentPackage):
        out["business_type"] = int(p.business_type)
        out["document_id"] = p.header.document_id
        out["priority"] = int(p.header.other.priority)
        out["attachments"] = [
            {
                "name": a.name,
                "content_id": a.content_id,
                "declared_type": a.content_type,
                "detected_type": a.detected_type,
                "size": a.size,
                "sha256": a.sha256,
                "entries": [
                    {"name": e.name, "size": e.size, "detected_type": e.detected_type}
                    for e in a.entries
                ],
            }
            for a in p.attachments
        ]
    elif isinstance(p, StatusPackage):
        out["status_code"] = p.header.status_code.value
        out["document_id"] = p.header.response_for.document_id
    return out


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    validator = Validator(settings.edxml)
    all_valid = True
    for name in args.files:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            print(f"axis edxml check: cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 2
        result = validator.check(raw)
        all_valid &= result.valid
        print(json.dumps(report(name, result), ensure_ascii=False), flush=True)
    return 0 if all_valid else 1
