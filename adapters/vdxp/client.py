"""The node's own client of the national axis's protocol (../shared/spec/vdxp.md): to
forward to the national axis, or to another node's /vdxp/ listener.

It speaks as the SDK does (each parameter plain and `XroadVnpt-` prefixed, the signed
JSON and its HMAC, the `file_doc` part, the envelope), with one difference on purpose:
the timestamp is taken afresh for every call (`now`), not fixed for the client's life.
Packages are forwarded as the bytes they are, never rewritten (a rewritten package
breaks its sender's signature).

Failures are `AxisError`s: `peer.unreachable` (connect, timeout: retry later),
`peer.refused` (a FAIL envelope; its ErrorCode and ErrorDesc in the detail),
`peer.bad_answer` (not HTTP 200, or not the envelope).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from adapters.vdxp import protocol
from axis import errors


@dataclass(frozen=True, slots=True)
class VdxpItem:
    """One entry of getReceivedEdocList."""

    doc_id: str
    message_type: str
    sender: str
    to: str
    status: str
    status_desc: str = ""
    created_time: str = ""
    updated_time: str = ""
    service_type: str = "eDoc"


@dataclass(frozen=True, slots=True)
class _Answer:
    fields: dict[str, Any]


class VdxpClient:
    def __init__(self, endpoint: str, system_id: str, secret: str, *, http: httpx.Client,
                 now: Callable[[], datetime]) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._system_id = system_id
        self._secret = secret
        self._http = http
        self._now = now

    # --- sending -----------------------------------------------------------------------
    def send_edoc(self, content: bytes, *, sender: str, recipients: Sequence[str],
                  message_type: str) -> str:
        """Send a package (its bytes unchanged); the peer's DocId for it."""
        params = {"from": sender, "servicetype": "eDoc", "messagetype": message_type,
                  "to": json.dumps(list(recipients)),
                  "hash-file": hashlib.sha256(content).hexdigest()}
        answer = self._call("POST", "sendEdoc", params,
                            files={"file_doc": ("edoc.edxml", content, "application/xml")})
        return _text(answer, "DocId")

    # --- receiving ---------------------------------------------------------------------
    def received(self, message_type: str) -> list[VdxpItem]:
        answer = self._call("POST", "getReceivedEdocList",
                            {"servicetype": "eDoc", "messagetype": message_type})
        out = []
        for row in _rows(answer):
            out.append(VdxpItem(
                doc_id=str(row.get("docId", "")),
                message_type=str(row.get("messageType", message_type)),
                sender=str(row.get("from", "")), to=str(row.get("to", "")),
                status=str(row.get("status", "")),
                status_desc=str(row.get("status_desc", "")),
                created_time=str(row.get("created_time", "")),
                updated_time=str(row.get("updated_time", "")),
                service_type=str(row.get("serviceType", "eDoc"))))
        return out

    def get_edoc(self, doc_id: str) -> bytes:
        """The package: getEdoc's `data` text as UTF-8 (the SDK's way; the package is
        XML text)."""
        return _text(self._call("POST", "getEdoc", {"docId": doc_id}), "data").encode("utf-8")

    def update_status(self, doc_id: str, status: str) -> None:
        if status not in ("processing", "done", "fail"):
            raise errors.PEER_INVALID.error(f"status {status!r}: processing, done or fail")
        self._call("POST", "updateStatus", {"docId": doc_id, "status": status})

    # --- reading -----------------------------------------------------------------------
    def sent(self) -> list[dict[str, object]]:
        return _rows(self._call("POST", "getSentEdocList", {}))

    def agencies(self, *, qd20: bool = False) -> list[dict[str, object]]:
        op = "getAgenciesListQD20" if qd20 else "getAgenciesList"
        return _rows(self._call("POST", op, {}, json_body={}))

    def synchronize_units(self) -> list[dict[str, object]]:
        return _rows(self._call("POST", "getSynchronizeUnit", {}))

    # --- the peer's registry (a provincial axis registering the units it serves) -------
    def register_agency(self, fields: dict[str, str]) -> None:
        self._call("POST", "registerAgency", {}, json_body=fields)

    def delete_agency(self, code: str) -> None:
        self._call("POST", "deleteAgency", {"AgencyCode": code})

    # --- the wire ----------------------------------------------------------------------
    def _call(self, method: str, operation: str, params: Mapping[str, str], *,
              files: dict[str, tuple[str, bytes, str]] | None = None,
              json_body: Mapping[str, str] | None = None) -> _Answer:
        headers = protocol.signed_headers(self._system_id, self._secret, params, self._now())
        url = f"{self._endpoint}/{operation}"
        content: bytes | None = None
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        try:
            response = self._http.request(method, url, headers=headers, files=files,
                                          content=content)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.ProxyError) as exc:
            raise errors.PEER_UNREACHABLE.error(
                f"{operation} at {self._endpoint}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise errors.PEER_BAD_ANSWER.error(
                f"{operation} at {self._endpoint}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise errors.PEER_BAD_ANSWER.error(
                f"{operation}: HTTP {response.status_code}")
        envelope = protocol.envelope_of(response.content)
        if envelope is None:
            raise errors.PEER_BAD_ANSWER.error(f"{operation}: not the result envelope")
        if envelope["status"] != protocol.OK:
            raise errors.PEER_REFUSED.error(
                f"{operation}: ErrorCode={str(envelope.get('ErrorCode', ''))[:100]} "
                f"ErrorDesc={str(envelope.get('ErrorDesc', ''))[:500]}")
        return _Answer(envelope)


def _text(answer: _Answer, name: str) -> str:
    value = answer.fields.get(name)
    if not isinstance(value, str) or not value:
        raise errors.PEER_BAD_ANSWER.error(f"the answer has no {name}")
    return value


def _rows(answer: _Answer) -> list[dict[str, object]]:
    data = answer.fields.get("data", [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise errors.PEER_BAD_ANSWER.error("data: a list of objects")
    return [dict(r) for r in data]
