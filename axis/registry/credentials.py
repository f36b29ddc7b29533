"""Credentials of agency systems: the secret is shown once, only its hash is stored.

Art. 22: accounts are created, changed and revoked on request, never shared, and a
compromised one is cut off at once (`Registry.revoke_credential`).

The node generates every secret itself: 32 random bytes (256 bits). Against a secret
that cannot be guessed a slow password hash (scrypt, bcrypt) buys nothing, while it would
cost CPU on every authenticated request; a SHA-256 digest compared in constant time is
the usual choice for such API tokens. The `sha256:` prefix leaves room for another
scheme later without guessing what a stored hash is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from axis import errors

SCHEME = "sha256"
SYSTEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return f"{SCHEME}:{hashlib.sha256(secret.encode('utf-8')).hexdigest()}"


def secret_matches(secret: str, secret_hash: str) -> bool:
    scheme, _, _digest = secret_hash.partition(":")
    if scheme != SCHEME:
        return False
    return hmac.compare_digest(hash_secret(secret), secret_hash)


def new_system_id(short_id: str) -> str:
    """A readable, unique-enough id: the agency's short id and 8 random hex digits."""
    base = re.sub(r"[^A-Za-z0-9._-]", "-", short_id)[:100] or "system"
    return f"{base}-{secrets.token_hex(4)}"


def check_system_id(system_id: str) -> str:
    if not SYSTEM_ID.fullmatch(system_id):
        raise errors.REGISTRY_INVALID_AGENCY.error(
            f"system id {system_id!r}: 1 to 128 of A-Z a-z 0-9 . _ -"
        )
    return system_id
