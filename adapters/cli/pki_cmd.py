"""`axis pki ...`: test CA, agency certificates, signing and verifying packages."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("pki", help="test PKI: CA, certificates, sign and verify packages")
    p.add_subparsers(dest="pki_command", required=True)
