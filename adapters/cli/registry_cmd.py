"""`axis registry …`: the administrators' side of the agency registry (Art. 8.2, Art. 22).

Every command opens the configured database (SQLite under data_dir by default) and works
through `axis.registry.service.Registry`. Commands that change the registry bring its
schema up to date first; those that only read (`list`, `show`, `export`) open it
read-only and never migrate (adapters/cli/db_cmd.py). Changes need a
reason; the actor defaults to `cli:<login>`. A fresh node is seeded with
`axis registry seed` (add-only, so running it again changes nothing).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adapters.cli.db_cmd import open_read_only
from adapters.store import migrate
from adapters.store.db import database_url, make_engine
from adapters.store.registry_repo import SqlRegistryStore
from axis.clock import SystemClock, iso
from axis.errors import AxisError
from axis.packaged import SEED_REGISTRY_FILE
from axis.registry import codec
from axis.registry.model import Agency, AgencyKind, AgencyState, DeliveryMode
from axis.registry.service import Registry
from axis.settings import Settings

SEED_FILE = SEED_REGISTRY_FILE


def register(sub: Any) -> None:
    p = sub.add_parser("registry", help="agency registry: identifiers, states, credentials")
    rs = p.add_subparsers(dest="registry_command", required=True)

    def cmd(name: str, handler: Any, help_: str, *, change: bool = False) -> Any:
        c = rs.add_parser(name, help=help_)
        c.set_defaults(handler=handler)
        if change:
            c.add_argument("--actor", help="who makes the change (default: cli:<login>)")
            c.add_argument("--reason", required=True, help="why: the request it answers")
        return c

    c = cmd("import", run_import, "upsert agencies from a JSON or CSV file (all or nothing)")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--format", choices=("json", "csv"), help="default: from the file name")
    c.add_argument("--actor", help="who makes the change (default: cli:<login>)")
    c.add_argument("--reason", help="why (default: 'import of FILE')")

    c = cmd("export", run_export, "write every agency as JSON or CSV")
    c.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    c.add_argument("--format", choices=("json", "csv"), help="default: from -o, else json")

    c = cmd("seed", run_seed, "add the sample Lạng Sơn registry's missing agencies")
    c.add_argument("file", metavar="FILE", nargs="?", default=str(SEED_FILE))

    c = cmd("list", run_list, "list agencies")
    c.add_argument("--state", choices=[s.value for s in AgencyState])
    c.add_argument("--kind", choices=[k.value for k in AgencyKind])
    c.add_argument("--json", action="store_true", help="one JSON array")

    c = cmd("show", run_show, "one agency (either identifier form) with its history")
    c.add_argument("identifier", metavar="ID")
    c.add_argument("--json", action="store_true")

    c = cmd("add", run_add, "register a new agency", change=True)
    c.add_argument("--id", required=True, dest="agency_id", help="QCVN 102 form")
    c.add_argument("--short-id", default="", help="Decision 20 form (default: derived)")
    c.add_argument("--name", required=True)
    c.add_argument("--parent", help="parent agency, either form")
    c.add_argument("--level", type=int, help="1-4 (derived from a QCVN 102 identifier)")
    c.add_argument("--kind", choices=[k.value for k in AgencyKind], default="internal")
    c.add_argument("--mode", choices=[m.value for m in DeliveryMode], default="pull")
    c.add_argument("--endpoint", default="", help="push mode: the URL the node posts to")
    c.add_argument("--email", default="")
    c.add_argument("--phone", default="")
    c.add_argument("--note", default="")
    c.add_argument("--served-by", default="",
                   help="external: the peer serving it (default: national; axis peer list)")

    for name, help_ in (
        ("suspend", "suspend an agency (refused as sender and recipient)"),
        ("reactivate", "make a suspended agency active again"),
        ("retire", "retire an agency for good"),
    ):
        c = cmd(name, run_state, help_, change=True)
        c.add_argument("identifier", metavar="ID")

    for name, help_ in (
        ("bind", "bind a signing certificate (SHA-256 fingerprint) to an agency"),
        ("unbind", "unbind a certificate from an agency"),
    ):
        c = cmd(name, run_bind, help_, change=True)
        c.add_argument("identifier", metavar="ID")
        c.add_argument("fingerprint", metavar="SHA256")

    c = cmd("issue-credential", run_issue, "issue a system credential (secret shown once)",
            change=True)
    c.add_argument("identifier", metavar="ID")
    c.add_argument("--system-id", help="default: <short id>-<random>")

    c = cmd("revoke-credential", run_revoke, "cut a credential off at once", change=True)
    c.add_argument("system_id", metavar="SYSTEM_ID")


@contextmanager
def open_registry(settings: Settings) -> Iterator[Registry]:
    """The registry on the configured database, migrated to the newest schema."""
    engine = make_engine(database_url(settings.database_url, settings.data_dir))
    try:
        migrate.upgrade(engine)
        yield Registry(SqlRegistryStore(engine), SystemClock(), province=settings.province)
    finally:
        engine.dispose()


@contextmanager
def reading_registry(settings: Settings) -> Iterator[Registry]:
    """The registry for a command that only reads: the database opened read-only, at this
    node's schema or refused with `node.schema_outdated` (never migrated from here)."""
    with open_read_only(settings) as engine:
        yield Registry(SqlRegistryStore(engine), SystemClock(), province=settings.province)


def _actor(args: argparse.Namespace) -> str:
    if getattr(args, "actor", None):
        return str(args.actor)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (some containers)
        return "cli"


def _format(explicit: str | None, path: str | None) -> str:
    if explicit:
        return explicit
    return "csv" if path and path.lower().endswith(".csv") else "json"


def _print_findings(exc: AxisError) -> None:
    for f in exc.findings:
        where = f"{f.path}: " if f.path else ""
        print(f"  {where}{f.code.id}: {f.detail or f.code.en}", file=sys.stderr)


def _import(args: argparse.Namespace, settings: Settings, *, actor: str, reason: str,
            only_new: bool) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"axis registry: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    fmt = _format(getattr(args, "format", None), args.file)
    with open_registry(settings) as registry:
        try:
            rows = codec.load_csv(text) if fmt == "csv" else codec.load_json(text)
            report = registry.import_rows(rows, actor=actor, reason=reason, only_new=only_new)
        except AxisError as exc:
            _print_findings(exc)
            raise
    print(json.dumps(report.as_dict()))
    return 0


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    reason = args.reason or f"import of {Path(args.file).name}"
    return _import(args, settings, actor=_actor(args), reason=reason, only_new=False)


def run_seed(args: argparse.Namespace, settings: Settings) -> int:
    reason = f"seed from {Path(args.file).name}"
    return _import(args, settings, actor="seed", reason=reason, only_new=True)


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    with reading_registry(settings) as registry:
        agencies = registry.export()
    fmt = _format(args.format, args.output)
    text = codec.dump_csv(agencies) if fmt == "csv" else codec.dump_json(agencies)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(agencies)} agencies written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    state = AgencyState(args.state) if args.state else None
    kind = AgencyKind(args.kind) if args.kind else None
    with reading_registry(settings) as registry:
        agencies = registry.list(state=state, kind=kind)
    if args.json:
        print(json.dumps([codec.agency_to_dict(a) for a in agencies], ensure_ascii=False))
        return 0
    for a in agencies:
        print(f"{a.agency_id:<16} {a.short_id:<12} {a.state.value:<9} {a.kind.value:<8} "
              f"{a.delivery_mode.value:<4}  {a.name}")
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    with reading_registry(settings) as registry:
        agency = registry.resolve(args.identifier)
        history = registry.history(agency.agency_id)
        creds = registry.credentials(agency.agency_id)
    if args.json:
        doc = {
            "agency": codec.agency_to_dict(agency),
            "credentials": [
                {"system_id": c.system_id, "issued_at": iso(c.issued_at),
                 "revoked_at": iso(c.revoked_at) if c.revoked_at else None}
                for c in creds
            ],
            "history": [
                {"at": iso(h.at), "actor": h.actor, "action": h.action, "reason": h.reason,
                 "before": h.before, "after": h.after}
                for h in history
            ],
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    for key, value in codec.agency_to_dict(agency).items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"{key:<14} {'' if shown is None else shown}")
    for c in creds:
        revoked = f", revoked {iso(c.revoked_at)}" if c.revoked_at else ""
        print(f"{'credential':<14} {c.system_id} (issued {iso(c.issued_at)}{revoked})")
    print("history:")
    for h in history:
        print(f"  {iso(h.at)}  {h.action:<18} {h.actor}: {h.reason}{_diff(h.before, h.after)}")
    return 0


def _diff(before: dict[str, object] | None, after: dict[str, object] | None) -> str:
    if not before or not after:
        return ""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return f"  [{', '.join(changed)}]" if changed else ""


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    with open_registry(settings) as registry:
        parent = registry.resolve(args.parent).agency_id if args.parent else None
        agency = Agency(
            agency_id=args.agency_id,
            short_id=args.short_id,
            name=args.name,
            parent_id=parent,
            level=args.level or 1,
            kind=AgencyKind(args.kind),
            delivery_mode=DeliveryMode(args.mode),
            endpoint=args.endpoint,
            contact_email=args.email,
            contact_phone=args.phone,
            note=args.note,
            served_by=args.served_by,
        )
        added = registry.add(agency, actor=_actor(args), reason=args.reason)
    print(f"added {added.agency_id} ({added.short_id}) {added.name}")
    return 0


def run_state(args: argparse.Namespace, settings: Settings) -> int:
    with open_registry(settings) as registry:
        move = {
            "suspend": registry.suspend,
            "reactivate": registry.reactivate,
            "retire": registry.retire,
        }[args.registry_command]
        agency = move(args.identifier, actor=_actor(args), reason=args.reason)
    print(f"{agency.agency_id} ({agency.short_id}) is {agency.state.value}")
    return 0


def run_bind(args: argparse.Namespace, settings: Settings) -> int:
    with open_registry(settings) as registry:
        act = registry.bind_certificate if args.registry_command == "bind" else (
            registry.unbind_certificate
        )
        agency = act(args.identifier, args.fingerprint, actor=_actor(args), reason=args.reason)
    print(f"{agency.agency_id}: {len(agency.certificates)} certificate(s) bound")
    return 0


def run_issue(args: argparse.Namespace, settings: Settings) -> int:
    from axis.auth import keys, signing

    # The same derived secret as `axis registry credentials issue`: the API can only
    # verify secrets derived from the node's credential key (docs/api.md).
    master = keys.master_key(settings)
    with open_registry(settings) as registry:
        issued = registry.issue_credential(
            args.identifier, actor=_actor(args), reason=args.reason, system_id=args.system_id,
            secret_for=lambda sid: signing.derive_secret(master, sid),
        )
    # The only time the secret exists outside the agency's system: not stored, not logged.
    print(json.dumps({"system_id": issued.credential.system_id,
                      "agency_id": issued.credential.agency_id, "secret": issued.secret}))
    return 0


def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with open_registry(settings) as registry:
        cred = registry.revoke_credential(args.system_id, actor=_actor(args), reason=args.reason)
    revoked = iso(cred.revoked_at) if cred.revoked_at else ""
    print(f"{cred.system_id} ({cred.agency_id}) revoked at {revoked}")
    return 0
