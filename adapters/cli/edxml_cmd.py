"""`axis edxml check FILE...`: one JSON object per file, on its own line.
`axis edxml new …`: write a package from options (edxml_new_cmd.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from adapters.cli import edxml_new_cmd
from axis.clock import SystemClock
from axis.edxml.model import DocumentPackage, StatusPackage
from axis.edxml.validate import CheckResult, Validator
from axis.errors import AxisError
from axis.settings import Settings
from axis.trust import setup
from axis.trust.verdict import State, Verdict


def register(sub: Any) -> None:
    p = sub.add_parser("edxml", help="work with edXML packages")
    esub = p.add_subparsers(dest="edxml_command", required=True)
    check = esub.add_parser("check", help="read, validate and report packages as JSON lines")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=run_check)
    edxml_new_cmd.register(esub)


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


def add_verdict(out: dict[str, Any], verdict: Verdict | None) -> dict[str, Any]:
    """`signature`: the trust verdict (verified, absent, placeholder, invalid); `signer`
    when known; `signature_code` and `signature_reason` when invalid."""
    out["signature"] = verdict.state.value if verdict else None
    if verdict is not None and verdict.signer is not None:
        out["signer"] = verdict.signer.as_dict()
    if verdict is not None and verdict.state is State.INVALID:
        out["signature_code"] = verdict.code.id if verdict.code else None
        out["signature_reason"] = verdict.reason
    return out


def check_one(validator: Validator, stage: setup.TrustStage, raw: bytes
              ) -> tuple[CheckResult, Verdict | None]:
    """A verified package is read from its signed content, like the pipeline does."""
    try:
        verdict = stage.verifier.verify(raw, SystemClock().now())
    except AxisError:  # not a package at all: the validator says why
        return validator.check(raw), None
    if verdict.signed_root is not None:
        return validator.check_tree(verdict.signed_root), verdict
    return validator.check(raw), verdict


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    validator = Validator(settings.edxml)
    stage = setup.build(settings, SystemClock().now())
    all_valid = True
    for name in args.files:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            print(f"axis edxml check: cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 2
        result, verdict = check_one(validator, stage, raw)
        all_valid &= result.valid
        out = add_verdict(report(name, result), verdict)
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0 if all_valid else 1
