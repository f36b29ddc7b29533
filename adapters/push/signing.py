"""The push request an agency's endpoint receives, and how it checks the node signed it.

    POST <endpoint>                     body: the package, byte-identical to what the
                                        sender signed (Content-Type: application/xml)
    X-Axis-Delivery-Id: <delivery id>   the receiver's de-duplication key: a package may
                                        arrive twice (at-least-once), never with two ids
    X-Axis-System-Id:   <system id>     whose credential secret keys the signature
    X-Axis-Timestamp:   <Unix seconds>  refuse outside ±5 minutes of your clock
    X-Axis-Attempt:     <n>             1 on the first try
    X-Axis-Signature:   hex(HMAC-SHA256(secret, canonical))

    canonical = "AXIS-PUSH-V1" "\\n" "POST" "\\n" TARGET "\\n" TIMESTAMP "\\n"
                DELIVERY_ID "\\n" hex(sha256(body))

The key is the secret of the agency's newest unrevoked credential: the one its system
already holds to sign its own requests to the node (axis/auth/signing.py), named in
X-Axis-System-Id. Nothing new to provision, and revoking a compromised credential (Art. 22)
stops its use in both directions at once. The "AXIS-PUSH-V1" prefix separates the two
directions: a request canonical string starts with its HTTP method, so a push signature
can never be replayed against the node as an agency request, nor the other way round.
TARGET is the endpoint's path and query as sent on the request line.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

PREFIX = "AXIS-PUSH-V1"
DELIVERY_HEADER = "X-Axis-Delivery-Id"
SYSTEM_HEADER = "X-Axis-System-Id"
TIMESTAMP_HEADER = "X-Axis-Timestamp"
ATTEMPT_HEADER = "X-Axis-Attempt"
SIGNATURE_HEADER = "X-Axis-Signature"


def target_of(url: str) -> str:
    """The request target httpx sends for `url`: path (at least "/") and query."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def canonical(target: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    return "\n".join((PREFIX, "POST", target, timestamp, delivery_id,
                      hashlib.sha256(body).hexdigest()))


def sign(secret: str, canonical_string: str) -> str:
    return hmac.new(secret.encode("utf-8"), canonical_string.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def headers(
    *, secret: str, system_id: str, url: str, timestamp: str, delivery_id: str,
    attempt: int, body: bytes,
) -> dict[str, str]:
    signature = sign(secret, canonical(target_of(url), timestamp, delivery_id, body))
    return {
        "Content-Type": "application/xml; charset=utf-8",
        DELIVERY_HEADER: delivery_id,
        SYSTEM_HEADER: system_id,
        TIMESTAMP_HEADER: timestamp,
        ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: signature,
    }


def verify(secret: str, *, target: str, timestamp: str, delivery_id: str, body: bytes,
           signature: str) -> bool:
    """The receiver's check (a reference for agency implementers; the tests use it)."""
    expected = sign(secret, canonical(target, timestamp, delivery_id, body))
    return hmac.compare_digest(expected, signature.strip().lower())
