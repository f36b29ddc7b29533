"""The national axis's wire format (../shared/spec/vdxp.md), both ways: the signed headers
a client sends and the result envelope a server answers with. The signature's checks are
in the core (axis/auth/vdxp.py); this module only writes and reads the shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from axis.auth import vdxp
from axis.errors import Code

VERSION = "3.0.201608"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
OK = "OK"
FAIL = "FAIL"
SUCCESS_CODE = "0"


def signed_headers(system_id: str, secret: str, params: Mapping[str, str],
                   at: datetime) -> list[tuple[str, str]]:
    """The headers of one call as the SDK sends them: each parameter plain and prefixed
    `XroadVnpt-`, the fixed headers, and the signature over the parameters, the system id
    and the timestamp (a JSON object; its MAC keyed with the secret)."""
    stamp = vdxp.format_timestamp(at)
    signed = {**params, "XroadVnpt-systemid": system_id, "XroadVnpt-timestamp": stamp}
    sign_header = json.dumps(signed, ensure_ascii=True, separators=(",", ":"))
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        out += [(name, value), (f"XroadVnpt-{name}", value)]
    out += [
        ("XroadVnpt-systemid", system_id),
        ("XroadVnpt-timestamp", stamp),
        ("XroadVnpt-version", VERSION),
        ("XroadVnpt-sign-header-key", ";".join(signed)),
        ("XroadVnpt-sign-header", sign_header),
        ("XroadVnpt-hash-header", vdxp.mac(secret, sign_header)),
        ("User-Agent", USER_AGENT),
    ]
    return out


def ok(**fields: Any) -> dict[str, Any]:
    return {"status": OK, "ErrorCode": SUCCESS_CODE, "ErrorDesc": "", **fields}


def fail(code: Code, *, detail: str = "", error_id: str = "",
         **fields: Any) -> dict[str, Any]:
    """A refusal: `ErrorCode` the node's stable code id, `ErrorDesc` Vietnamese then
    English (and the detail), plus the error id that is also in the log and journal."""
    desc = f"{code.vi} / {code.en}" + (f" ({detail})" if detail else "")
    return {"status": FAIL, "ErrorCode": code.id, "ErrorDesc": desc, "ErrorId": error_id,
            **fields}


def envelope_of(body: bytes) -> dict[str, Any] | None:
    """The answer as an envelope, or None when it is not one (not JSON, not an object, no
    string `status` of OK or FAIL): what the SDK itself refuses."""
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("status") not in (OK, FAIL):
        return None
    return obj
