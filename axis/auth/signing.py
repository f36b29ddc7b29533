"""The request signature agency systems send (docs/api.md has a worked example).

    canonical = METHOD "\\n" TARGET "\\n" TIMESTAMP "\\n" hex(sha256(body))
    signature = hex(HMAC-SHA256(secret, canonical))

TARGET is the request target exactly as sent on the request line: the path, and `?` and
the query string when there is one, neither decoded nor re-encoded (what is signed is
what travelled). TIMESTAMP is the `X-Axis-Timestamp` header verbatim: Unix time in
seconds, optionally with up to 6 decimals. Unix time needs no time-zone or format
agreement, and the decimals let a client keep two identical requests in the same second
distinct (each signature is accepted once, see `replay`).

Key derivation. The registry stores only `sha256:<hex>` of a secret, yet HMAC verification
needs the secret itself. So the node derives every secret from a master key kept outside
the database (`keys`): `secret = base64url(HMAC-SHA256(master, "axis-credential-v1\\0" +
system_id))`. The server re-derives it for each request; a copy of the database alone
(a backup, a leak) lets nobody sign requests. System ids are never reused (revoked
credentials stay in the registry), so a derived secret is never issued twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

SYSTEM_ID_HEADER = "X-Axis-System-Id"
TIMESTAMP_HEADER = "X-Axis-Timestamp"
SIGNATURE_HEADER = "X-Axis-Signature"
WINDOW = timedelta(minutes=5)  # requests outside ±5 minutes of the node's clock are refused

TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?", re.ASCII)
SIGNATURE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_DERIVATION_LABEL = b"axis-credential-v1\x00"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(method: str, target: str, timestamp: str, body_sha256: str) -> str:
    return "\n".join((method.upper(), target, timestamp, body_sha256))


def sign(secret: str, canonical: str) -> str:
    """Lower-case hex HMAC-SHA256 of the canonical string, keyed with the secret's UTF-8."""
    return hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_request(secret: str, method: str, target: str, timestamp: str, body: bytes) -> str:
    return sign(secret, canonical_string(method, target, timestamp, body_hash(body)))


def signature_matches(secret: str, canonical: str, signature: str) -> bool:
    # Constant time: a byte-by-byte early exit would leak how much of a guess was right.
    return hmac.compare_digest(sign(secret, canonical), signature.strip().lower())


def parse_timestamp(text: str) -> float:
    """Unix seconds; ValueError for anything but digits with an optional fraction."""
    if not TIMESTAMP.fullmatch(text.strip()):
        raise ValueError(f"not Unix seconds: {text[:40]!r}")
    return float(text)


def within_window(unix_seconds: float, now: datetime, window: timedelta = WINDOW) -> bool:
    return abs(now.timestamp() - unix_seconds) <= window.total_seconds()


def derive_secret(master: bytes, system_id: str) -> str:
    """The secret of a system id under the node's master key (43 URL-safe characters)."""
    mac = hmac.new(master, _DERIVATION_LABEL + system_id.encode("utf-8"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")
