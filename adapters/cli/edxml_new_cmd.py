"""`axis edxml new`: write a document or status package from options.

    axis edxml new --from ID --to ID [--to ID …] --subject TEXT [--attach FILE …]
                   [--priority 0-4|normal|urgent|very-urgent|flash|flash-timed]
                   [--business new|recall|update|replace --target DOCUMENT_ID]
                   [--document-id ID] [--code-number N] [--code-notation X] [--date D]
                   [--reason TEXT] [--tasks FILE] [--answers TASK_CODE …]
                   [--sign KEY CERT] [-o FILE]
    axis edxml new --status CODE --from ID --response-for DOCUMENT_ID [--to ID]
                   [--reason TEXT] [--tasks FILE] [--sign KEY CERT] [-o FILE]

`--tasks FILE` adds the task extension (docs/tasks.md) from JSON (axis/tasks/jsonform.py):
the tasks a document assigns, or the task events a status package reports. `--answers`
names a task a reply answers (ResponseForTask/TaskCode).

The package is made from the typed model by the node's own builder (axis/edxml/writer.py)
and checked by the node's own validator before a byte is written: an invalid package is
refused with the validator's code (exit 1, like `axis edxml check`), options that cannot
describe a package are a usage error (exit 2). With `-o`, a JSON summary goes to stdout;
without, the package does. Unsigned unless `--sign` (or piped into `axis pki sign … -`).
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.cli.pki_cmd import warn_if_not_sender
from axis.clock import SystemClock, format_wire_date, iso
from axis.edxml import attachments
from axis.edxml.identifiers import parse_document_id
from axis.edxml.model import (
    Attachment,
    Business,
    BusinessType,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Organ,
    OtherInfo,
    Package,
    Priority,
    Reference,
    ReplacementInfo,
    ResponseFor,
    StatusCode,
    StatusHeader,
    StatusPackage,
)
from axis.edxml.validate import Validator
from axis.edxml.writer import build
from axis.settings import Settings
from axis.tasks.extension import add_extension, mint_code
from axis.tasks.jsonform import events_from_json, tasks_from_json
from axis.tasks.model import TaskExtension
from axis.trust.sign import NodeSigner

# `recall` is BussinessDocType 1 (thu hồi, Art. 9.3; spec §3).
BUSINESS = {"new": BusinessType.NEW, "recall": BusinessType.REVOKE,
            "update": BusinessType.UPDATE, "replace": BusinessType.REPLACE}
PRIORITY_NAMES = {p.name.lower().replace("_", "-"): p for p in Priority}
DEFAULT_NOTATION = "TEST"
# Options that only make sense for one kind of package (dest → flag, for messages).
DOCUMENT_ONLY = {"subject": "--subject", "attach": "--attach", "priority": "--priority",
                 "business": "--business", "target": "--target",
                 "document_id": "--document-id", "code_number": "--code-number",
                 "code_notation": "--code-notation", "promulgation_date": "--date",
                 "answers": "--answers"}
STATUS_ONLY = {"response_for": "--response-for"}


class UsageError(Exception):
    """Options that describe no package: the person at the keyboard can fix them."""


def register(esub: Any) -> None:
    """Joins `axis edxml` (edxml_cmd.register) as its `new` command."""
    p = esub.add_parser(
        "new", help="write a valid document or status package from options",
        description="Write a document package (default) or, with --status, a status "
                    "package. Validated before it is written.")
    p.add_argument("--from", dest="sender", required=True, metavar="AGENCY",
                   help="From/OrganId: the sending agency")
    p.add_argument("--from-name", default="", metavar="NAME", help="From/OrganName")
    p.add_argument("--to", action="append", default=[], metavar="AGENCY",
                   help="a recipient (repeat for several); for a status: ResponseFor/OrganId "
                        "(default: the issuer named in --response-for)")
    p.add_argument("--reason", default="", metavar="TEXT",
                   help="BussinessDocReason; for a status, its Description (02 needs one)")
    d = p.add_argument_group("document package")
    d.add_argument("--subject", metavar="TEXT", help="Subject (trích yếu)")
    d.add_argument("--attach", action="append", type=Path, metavar="FILE",
                   help="attach a file (name and type from the file; repeat for several)")
    d.add_argument("--priority", type=_priority, metavar="P",
                   help="0 normal (default), 1 urgent, 2 very-urgent, 3 flash, 4 flash-timed")
    d.add_argument("--business", choices=tuple(BUSINESS), help="business type (default: new)")
    d.add_argument("--target", metavar="DOCUMENT_ID",
                   help="the document a recall, update or replacement acts on")
    d.add_argument("--document-id", metavar="ID",
                   help="default: FROM,yyyy/MM/dd,NUMBER/NOTATION (a recall: --target)")
    d.add_argument("--code-number", metavar="N",
                   help="CodeNumber (default: from --document-id, else the time now, HHMMSS)")
    d.add_argument("--code-notation", metavar="X",
                   help=f"CodeNotation (default: from --document-id, else {DEFAULT_NOTATION})")
    d.add_argument("--date", dest="promulgation_date", type=_date, metavar="YYYY-MM-DD",
                   help="PromulgationDate (default: from --document-id, else today)")
    d.add_argument("--answers", action="append", metavar="TASK_CODE",
                   help="a task this reply answers: ResponseForTask/TaskCode (repeat)")
    p.add_argument("--tasks", type=Path, metavar="FILE",
                   help="JSON: the tasks a document assigns, or a status's task events "
                        "(docs/tasks.md)")
    s = p.add_argument_group("status package")
    s.add_argument("--status", choices=[c.value for c in StatusCode], metavar="CODE",
                   help="make a status package: 01–06, 13, 15, 16 (spec §5)")
    s.add_argument("--response-for", metavar="DOCUMENT_ID",
                   help="ResponseFor/DocumentId: the document the status is about")
    p.add_argument("--sign", nargs=2, type=Path, metavar=("KEY", "CERT"),
                   help="sign it (like `axis pki sign`): the sender's key and certificate")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write here and print a JSON summary (default: the package to stdout)")
    p.set_defaults(handler=run_new)


def _priority(text: str) -> Priority:
    key = text.strip().lower()
    if key in PRIORITY_NAMES:
        return PRIORITY_NAMES[key]
    try:
        return Priority(int(key))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: 0–4 or {', '.join(PRIORITY_NAMES)}") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a date, YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class Code:
    """Number, notation and date of a document: given, else from its DocumentId."""

    number: str
    notation: str
    day: date


def _code(args: argparse.Namespace, document_id: str | None, now: datetime) -> Code:
    ref = parse_document_id(document_id) if document_id else None
    number = args.code_number or (ref.number if ref and ref.number else f"{now:%H%M%S}")
    notation = args.code_notation or (ref.notation if ref and ref.notation
                                      else DEFAULT_NOTATION)
    day = args.promulgation_date or (ref.issued_on if ref and ref.issued_on else now.date())
    return Code(number, notation, day)


def attachment(path: Path, index: int) -> tuple[Reference, Attachment]:
    """Name from the file (NFC: the validator warns on decomposed text); declared type from
    the extension, else from the bytes. A lying extension is for the validator to refuse."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    name = unicodedata.normalize("NFC", path.name)
    content_type = _content_type(name, data)
    content_id = f"att{index}"
    return (Reference(content_id, content_type, name),
            Attachment(content_id, name, content_type, data=data))


def _content_type(name: str, data: bytes) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed and attachments.declared_type(guessed) is not None:
        return guessed
    # No usable extension: name the type the bytes have (`pdf` → application/pdf); the
    # validator judges an unknown one by the bytes alone.
    by_bytes, _ = mimetypes.guess_type(f"file.{attachments.sniff(data[:8192])}")
    return by_bytes or guessed or "application/octet-stream"


def _refuse_foreign(args: argparse.Namespace, options: dict[str, str], kind: str) -> None:
    given = [flag for dest, flag in options.items()
             if getattr(args, dest) not in (None, "", [])]
    if given:
        raise UsageError(f"{', '.join(given)}: not for a {kind} package")


def document_package(args: argparse.Namespace, now: datetime) -> DocumentPackage:
    _refuse_foreign(args, STATUS_ONLY, "document")
    business_type = BUSINESS[args.business or "new"]
    if business_type is BusinessType.NEW and args.target:
        raise UsageError("--target: only with --business recall, update or replace")
    if business_type is not BusinessType.NEW and not args.target:
        raise UsageError(f"--business {args.business} needs --target DOCUMENT_ID")
    # A recall takes back the target itself: it travels under the target's DocumentId.
    given_id = args.document_id or (args.target if business_type is BusinessType.REVOKE
                                    else None)
    code = _code(args, given_id, now)
    document_id = given_id or (
        f"{args.sender},{format_wire_date(code.day)},{code.number}/{code.notation}")
    recipients = tuple(Organ(r) for r in args.to)
    business = None
    if business_type is not BusinessType.NEW or args.reason:
        # A replacement names what it replaces in ReplacementInfoList (spec §3, as the
        # national SDK writes it) and in Bussiness/DocumentId too, where the node's
        # rules and trail look for the target of an update or replacement.
        replaced = ((ReplacementInfo(args.target, tuple(args.to)),)
                    if business_type is BusinessType.REPLACE else ())
        business = Business(doc_type=business_type, reason=args.reason,
                            document_id=args.target or "", replacements=replaced)
    pairs = [attachment(path, i) for i, path in enumerate(args.attach or (), 1)]
    return DocumentPackage(
        header=DocumentHeader(
            sender=Organ(args.sender, name=args.from_name), recipients=recipients,
            document_id=document_id, code=DocCode(code.number, code.notation),
            promulgation_date=code.day, subject=args.subject or "",
            other=OtherInfo(priority=args.priority or Priority.NORMAL),
            response_for_task=tuple(args.answers or ())),
        business=business,
        references=tuple(r for r, _ in pairs), attachments=tuple(a for _, a in pairs))


def status_package(args: argparse.Namespace, now: datetime) -> StatusPackage:
    _refuse_foreign(args, DOCUMENT_ONLY, "status")
    if not args.response_for:
        raise UsageError("--status needs --response-for DOCUMENT_ID")
    if len(args.to) > 1:
        raise UsageError("a status goes to one agency: give --to once")
    ref = parse_document_id(args.response_for)
    # Spec §5: ResponseFor/OrganId is the document's sender (for 13, the recipient whose
    # copy is taken back): the issuer a comma-form DocumentId names, unless told.
    organ_id = args.to[0] if args.to else (ref.issuer if ref else "")
    if not organ_id:
        raise UsageError(f"{args.response_for!r} names no issuer: say whom with --to")
    response_for = ResponseFor(
        organ_id=organ_id, document_id=args.response_for,
        code=f"{ref.number}/{ref.notation}" if ref and ref.number else "",
        promulgation_date=ref.issued_on if ref else None)
    return StatusPackage(header=StatusHeader(
        sender=Organ(args.sender, name=args.from_name), response_for=response_for,
        status_code=StatusCode(args.status), description=args.reason, timestamp=now))


def make(args: argparse.Namespace, now: datetime) -> Package:
    return status_package(args, now) if args.status else document_package(args, now)


def _say(message: str) -> None:
    print(f"axis edxml new: {message}", file=sys.stderr)


def _summary(package: Package, raw: bytes, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"file": str(args.output), "kind": package.kind.value,
                           "from": package.sender_id, "to": list(package.recipient_ids)}
    if isinstance(package, DocumentPackage):
        out |= {"document_id": package.header.document_id,
                "business_type": int(package.business_type),
                "priority": int(package.header.other.priority),
                "attachments": [a.name for a in package.attachments]}
    else:
        out |= {"document_id": package.header.response_for.document_id,
                "status_code": package.header.status_code.value,
                "timestamp": iso(package.header.timestamp or SystemClock().now())}
    return out | {"signed": bool(args.sign), "bytes": len(raw)}


def _task_extension(path: Path, package: Package) -> TaskExtension:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from exc
    if isinstance(package, StatusPackage):
        return events_from_json(data)
    h = package.header
    day = h.promulgation_date or SystemClock().now().date()
    return tasks_from_json(data, mint=lambda i: mint_code(h.sender.organ_id, day,
                                                          h.code.number, i))


def run_new(args: argparse.Namespace, settings: Settings) -> int:
    try:
        package = make(args, SystemClock().now().replace(microsecond=0))
    except UsageError as exc:
        _say(str(exc))
        return 2
    raw = build(package)
    if args.tasks:
        try:
            raw = add_extension(raw, _task_extension(args.tasks, package))
        except UsageError as exc:
            _say(str(exc))
            return 2
    result = Validator(settings.edxml).check(raw)
    for w in result.warnings:
        _say(f"warning {w.code.id}: {w.detail or w.code.en}")
    if result.errors:
        for e in result.errors:
            where = f" ({e.path})" if e.path else ""
            _say(f"refused, nothing written: {e.code.id}: {e.detail or e.code.en}{where}")
        return 1
    if args.sign:
        key, cert = args.sign
        raw = NodeSigner.from_files(key, cert, limits=settings.edxml).sign(raw)
        warn_if_not_sender(cert, package.sender_id, "axis edxml new")
    if args.output:
        try:
            args.output.write_bytes(raw)
        except OSError as exc:
            _say(f"cannot write {args.output}: {exc.strerror}")
            return 2
        print(json.dumps(_summary(package, raw, args), ensure_ascii=False))
    else:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
    return 0
