"""`axis admin token`: a new administrator token and the line that admits it.

The token is printed once, on standard output, for the administrator it belongs to
(Art. 22: never shared); the settings keep only its hash, name and role, so a copy of the
configuration cannot be used to log in. Revoking a token is deleting its entry.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from axis.auth.roles import ROLES
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("admin", help="admin and operator API: tokens")
    s = p.add_subparsers(dest="admin_command", required=True)
    c = s.add_parser("token", help="print a new admin token and its settings entry")
    c.add_argument("--name", required=True, help="whose token: named as actor in changes")
    c.add_argument("--role", choices=ROLES, default="operator",
                   help="operator: read and notices; admin: every change (default operator)")
    c.set_defaults(handler=run_token)


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.rest.admin_auth import new_token

    token, digest = new_token()
    entry = {"name": args.name, "role": args.role, "hash": digest}
    print(f"token (give it to {args.name}; shown only now): {token}")
    print("\nadd to the settings file (TOML):\n")
    print("[[admin.tokens]]")
    for key, value in entry.items():
        print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    print(f"\nor to the environment: AXIS_ADMIN__TOKENS='[{json.dumps(entry)}]'")
    return 0
