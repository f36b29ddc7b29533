"""The national axis's request signature (the VNPT SDK's `XroadVnpt-*` headers), checked
for the compatibility listener (adapters/vdxp/listener.py, docs/vdxp.md). Pure: no web
framework, no store; the listener hands in the headers, the secret and the clock's time.

What the SDK sends (../shared/spec/vdxp.md): every parameter as a header, under its own
name and again prefixed `XroadVnpt-`, names in varying case; `XroadVnpt-sign-header-key`
lists the signed names joined by `;`; `XroadVnpt-sign-header` is a JSON object of those
names and values; `XroadVnpt-hash-header` is the lower-case hex HMAC-SHA256 of that JSON
string keyed with the system's secret. Method, path and query are not signed, there is no
nonce, and the timestamp (`ddMMyyyy'T'HHmmss+SSSS`, Vietnam time) is fixed when the SDK's
service object is built. So, besides verifying:

- the MAC is checked over the JSON string exactly as received (a Java HashMap's key order
  is not stable: never re-serialise), then every signed value must equal the header that
  was actually sent, and every parameter the operation reads must be among the signed ones
  (an unsigned `docId` added on the way is refused, not read);
- the timestamp must fall within the system's own window (`timestamp_window_minutes`);
- replay: an operation that changes state (`MUTATING`) is accepted once per
  (system, operation, MAC) while its timestamp is inside the window (a send's file is
  covered through its signed `hash-file`; the multipart framing around it is not, and
  differs from one upload of the same file to the next); reads may
  repeat (a poller sends the same signed headers every minute: that is the SDK, not an
  attack, and a repeated read changes nothing);
- the call must come from an address or a client certificate bound to the system.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from axis import errors
from axis.clock import VN_TZ

PREFIX = "xroadvnpt-"
SYSTEM_ID = "systemid"
TIMESTAMP = "timestamp"
VERSION = "version"
SIGN_HEADER = "sign-header"
SIGN_HEADER_KEY = "sign-header-key"
HASH_HEADER = "hash-header"
# The signature's own headers: never parameters, never in the signed set.
SIGNATURE_HEADERS = frozenset({SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER})
# Operations that change state: a replay of one is refused (module docstring).
MUTATING = frozenset({"sendEdoc", "updateStatus", "registerAgency", "deleteAgency"})

_TIMESTAMP = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})T([0-9]{2})([0-9]{2})([0-9]{2})"
                        r"\+([0-9]{3,4})", re.ASCII)
_MAC = re.compile(r"[0-9a-f]{64}", re.ASCII)
MAX_SIGN_HEADER = 16 * 1024  # a JSON object of a dozen short headers


def param(name: str) -> str:
    """A header's parameter name: lower case, `XroadVnpt-` prefix dropped."""
    low = name.strip().lower()
    return low[len(PREFIX):] if low.startswith(PREFIX) else low


def collect(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request's parameters by `param` name. The SDK sends each one twice (plain and
    prefixed): the same value twice is one parameter; two different values are refused
    (which one the node read is what a sender and an auditor could disagree on)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = param(name)
        if key in out and out[key] != value:
            raise errors.VDXP_BAD_REQUEST.error(f"header {key!r} given twice, differently")
        out[key] = value
    return out


def parse_timestamp(text: str) -> datetime:
    """`ddMMyyyy'T'HHmmss+SSSS` (Java SimpleDateFormat: `+` literal, then milliseconds),
    in Vietnam time; `vdxp.bad_signature` when it is not that."""
    m = _TIMESTAMP.fullmatch(text.strip())
    if m is None:
        raise errors.VDXP_BAD_SIGNATURE.error(
            f"XroadVnpt-timestamp {text[:40]!r}: ddMMyyyy'T'HHmmss+SSSS")
    d, mo, y, h, mi, s, ms = (int(g) for g in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s, min(ms, 999) * 1000, tzinfo=VN_TZ)
    except ValueError as exc:
        raise errors.VDXP_BAD_SIGNATURE.error(f"XroadVnpt-timestamp {text!r}: {exc}") from exc


def format_timestamp(at: datetime) -> str:
    """The SDK's timestamp of `at`, in Vietnam time."""
    v = at.astimezone(VN_TZ)
    return f"{v:%d%m%Y}T{v:%H%M%S}+{v.microsecond // 1000:04d}"


def mac(secret: str, sign_header: str) -> str:
    """Lower-case hex HMAC-SHA256 of the sign-header JSON string, keyed with the secret."""
    return hmac.new(secret.encode("utf-8"), sign_header.encode("utf-8"),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Signed:
    """A request whose signature verified: its parameters, which of them were signed, and
    the MAC (the replay key's core)."""

    system_id: str
    at: datetime
    mac: str
    params: Mapping[str, str]
    signed: frozenset[str]


def system_of(params: Mapping[str, str]) -> str:
    system_id = params.get(SYSTEM_ID, "").strip()
    if not system_id or len(system_id) > 200:
        raise errors.VDXP_BAD_SIGNATURE.error("send XroadVnpt-systemid")
    return system_id


def verify(params: Mapping[str, str], secret: str, *, reads: Iterable[str],
           required: Iterable[str] = (SYSTEM_ID, TIMESTAMP)) -> Signed:
    """Check the signature of a request's parameters (`collect`). `reads`: the parameters
    the operation will read (each present one must be signed); `required`: parameters
    that must be signed whatever the operation (settings `vdxp.signed_required`)."""
    sign_header = params.get(SIGN_HEADER, "")
    key_list = params.get(SIGN_HEADER_KEY, "")
    given = params.get(HASH_HEADER, "").strip().lower()
    if not sign_header or not given:
        raise errors.VDXP_BAD_SIGNATURE.error(
            "send XroadVnpt-sign-header, XroadVnpt-sign-header-key and XroadVnpt-hash-header")
    if len(sign_header) > MAX_SIGN_HEADER or not _MAC.fullmatch(given):
        raise errors.VDXP_BAD_SIGNATURE.error("XroadVnpt-hash-header: 64 hex digits")
    # Constant time: an early exit would tell a forger how much of a guess was right.
    if not hmac.compare_digest(mac(secret, sign_header), given):
        raise errors.VDXP_BAD_SIGNATURE.error("the HMAC of XroadVnpt-sign-header differs")
    try:
        obj = json.loads(sign_header)
    except ValueError as exc:
        raise errors.VDXP_BAD_SIGNATURE.error("XroadVnpt-sign-header is not JSON") from exc
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise errors.VDXP_BAD_SIGNATURE.error(
            "XroadVnpt-sign-header: a JSON object of header names and string values")
    signed: dict[str, str] = {}
    for name, value in obj.items():
        key = param(name)
        if key in SIGNATURE_HEADERS or (key in signed and signed[key] != value):
            raise errors.VDXP_BAD_SIGNATURE.error(f"signed header {name!r} is ambiguous")
        signed[key] = value
    if key_list and {param(k) for k in key_list.split(";") if k.strip()} != set(signed):
        raise errors.VDXP_BAD_SIGNATURE.error(
            "XroadVnpt-sign-header-key does not name the signed headers")
    for key, value in signed.items():
        # What was signed must be what travelled: a value changed on the way is refused.
        if params.get(key) != value:
            raise errors.VDXP_BAD_SIGNATURE.error(
                f"header {key!r}: the value sent differs from the signed one")
    unsigned = sorted(k for k in {*reads} if k in params and k not in signed)
    missing = sorted(k for k in required if k not in signed)
    if unsigned or missing:
        raise errors.VDXP_BAD_SIGNATURE.error(
            f"these headers must be signed: {', '.join([*missing, *unsigned])}")
    return Signed(system_of(params), parse_timestamp(params.get(TIMESTAMP, "")), given,
                  params, frozenset(signed))


def check_window(at: datetime, now: datetime, window: timedelta) -> None:
    """`vdxp.stale` unless `at` is within ±`window` of `now`."""
    if abs(now - at) > window:
        raise errors.VDXP_STALE.error(
            f"timestamp {at.isoformat()} is not within ±{int(window.total_seconds() // 60)} "
            f"minutes of {now.astimezone(VN_TZ).isoformat()}")


def source_allowed(address: str | None, fingerprint: str | None,
                   networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
                   fingerprints: Iterable[str]) -> bool:
    """Whether the call's source is bound to the system: its address in one of
    `networks`, or its client certificate's SHA-256 in `fingerprints`."""
    if fingerprint is not None and fingerprint.lower() in {f.lower() for f in fingerprints}:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


def replay_key(system_id: str, operation: str, signature: str) -> str:
    """What a state-changing call is remembered by (hex SHA-256): the same signed headers
    to the same operation."""
    text = "\n".join(("vdxp", system_id, operation, signature))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
