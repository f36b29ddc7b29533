"""`axis registry credentials issue|revoke AGENCY`: agency systems' API credentials.

The secret is derived from the node's credential master key (axis/auth/signing.py), so
that the agency API can verify request signatures while the database keeps only a hash.
It is printed once and never stored or logged. Revocation takes effect on the very next
request (Art. 22: a compromised credential is cut off at once).

(The older `axis registry issue-credential` draws a random secret the agency API cannot
verify signatures with: use this command for agency systems.)
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from adapters.cli.registry_cmd import open_registry
from axis import errors
from axis.auth import keys, signing
from axis.clock import iso
from axis.settings import Settings


def register(sub: Any) -> None:
    """Joins `axis registry` (registered before this) as its `credentials` command."""
    registry: argparse.ArgumentParser = sub.choices["registry"]
    commands = next(a for a in registry._actions
                    if isinstance(a, argparse._SubParsersAction))
    p = commands.add_parser("credentials", help="agency API credentials: issue, revoke")
    cs = p.add_subparsers(dest="credentials_command", required=True)

    c = cs.add_parser("issue", help="issue a credential for an agency system (secret shown once)")
    c.add_argument("agency", metavar="AGENCY", help="either identifier form")
    c.add_argument("--system-id", help="default: <short id>-<random>")
    _who(c)
    c.set_defaults(handler=run_issue)

    c = cs.add_parser("revoke", help="cut an agency's credentials off at once (Art. 22)")
    c.add_argument("agency", metavar="AGENCY", help="either identifier form")
    c.add_argument("--system-id", help="only this credential (default: every active one)")
    _who(c)
    c.set_defaults(handler=run_revoke)


def _who(c: argparse.ArgumentParser) -> None:
    c.add_argument("--actor", help="who makes the change (default: cli:<login>)")
    c.add_argument("--reason", required=True, help="why: the request it answers")


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run_issue(args: argparse.Namespace, settings: Settings) -> int:
    master = keys.master_key(settings)
    with open_registry(settings) as registry:
        issued = registry.issue_credential(
            args.agency, actor=_actor(args), reason=args.reason, system_id=args.system_id,
            secret_for=lambda sid: signing.derive_secret(master, sid))
    cred = issued.credential
    print(json.dumps({"system_id": cred.system_id, "agency_id": cred.agency_id,
                      "secret": issued.secret, "issued_at": iso(cred.issued_at)}))
    print("axis: the secret is shown this once; give it to the agency's system only",
          file=sys.stderr)
    return 0


def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with open_registry(settings) as registry:
        agency = registry.resolve(args.agency)
        active = [c for c in registry.credentials(agency.agency_id) if c.revoked_at is None]
        if args.system_id:
            active = [c for c in active if c.system_id == args.system_id]
            if not active:
                raise errors.REGISTRY_UNKNOWN_CREDENTIAL.error(
                    f"no active credential {args.system_id!r} for {agency.agency_id}")
        if not active:
            print(f"axis: {agency.agency_id} has no active credential", file=sys.stderr)
            return 1
        for c in active:
            done = registry.revoke_credential(c.system_id, actor=_actor(args),
                                              reason=args.reason)
            print(json.dumps({"system_id": done.system_id, "agency_id": done.agency_id,
                              "revoked_at": iso(done.revoked_at) if done.revoked_at else None}))
    return 0
