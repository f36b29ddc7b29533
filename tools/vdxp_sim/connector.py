"""A client of the national axis written from vdxp.md only: a stand-in for an agency
connector built on the VNPT Java SDK (SDKVXP 2.0.x).

Like the SDK it sends every parameter header twice (plain and ``XroadVnpt-``-prefixed),
fixes ``XroadVnpt-timestamp`` when the object is built (a long-lived connector sends the
same timestamp for hours), announces ``XroadVnpt-version: 3.0.201608`` and the SDK's
User-Agent, and signs: ``XroadVnpt-sign-header-key`` lists the signed names joined by ``;``,
``XroadVnpt-sign-header`` is a JSON object of those headers, ``XroadVnpt-hash-header`` the
lower-case hex HMAC-SHA256 of that JSON keyed with the secret. Signed here: the system id,
the timestamp, the version and every parameter (under its plain name).

Methods answer the parsed envelope (``{"status", "ErrorCode", "ErrorDesc", ...}``) without
raising on ``FAIL``: tests look at the codes. ``download_edoc`` answers bytes and raises
``ConnectorError`` on a FAIL envelope. ``headers_for`` is public so that a test can build a
request, tamper with it, and send it itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

SDK_VERSION = "3.0.201608"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
_VN = timezone(timedelta(hours=7))


def sdk_timestamp(when: datetime | None = None) -> str:
    """Java's ``ddMMyyyy'T'HHmmss+SSSS``: the ``+`` is literal, SSSS the milliseconds."""
    t = (when or datetime.now(_VN)).astimezone(_VN)
    return t.strftime("%d%m%YT%H%M%S") + f"+{t.microsecond // 1000:04d}"


class ConnectorError(Exception):
    def __init__(self, envelope: dict[str, Any]) -> None:
        super().__init__(f"{envelope.get('ErrorCode')}: {envelope.get('ErrorDesc')}")
        self.envelope = envelope


class SdkConnector:
    def __init__(self, endpoint: str, system_id: str, secret: str, *,
                 timestamp: str | None = None, http: httpx.Client | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.system_id = system_id
        self.secret = secret
        self.timestamp = timestamp or sdk_timestamp()
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=30.0)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> SdkConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request building -----------------------------------------------------------------

    def url(self, operation: str) -> str:
        return f"{self.endpoint}/{operation}"

    def headers_for(self, operation: str, params: dict[str, str] | None = None) -> dict[str, str]:
        """Every header the SDK would send for ``operation`` with these parameters."""
        params = dict(params or {})
        signed: dict[str, str] = {
            "XroadVnpt-systemid": self.system_id,
            "XroadVnpt-timestamp": self.timestamp,
            "XroadVnpt-version": SDK_VERSION,
        }
        signed.update(params)
        sign_header = json.dumps(signed, separators=(",", ":"))
        mac = hmac.new(self.secret.encode("utf-8"), sign_header.encode("utf-8"),
                       hashlib.sha256).hexdigest()
        headers: dict[str, str] = {"User-Agent": USER_AGENT}
        headers.update(signed)
        for name, value in params.items():
            headers["XroadVnpt-" + name] = value
        headers["XroadVnpt-sign-header-key"] = ";".join(signed)
        headers["XroadVnpt-sign-header"] = sign_header
        headers["XroadVnpt-hash-header"] = mac
        return headers

    def _envelope(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise ConnectorError({"status": "FAIL", "ErrorCode": f"http {response.status_code}",
                                  "ErrorDesc": response.text[:500]})
        parsed = response.json()
        if not isinstance(parsed, dict) or not isinstance(parsed.get("status"), str):
            # The SDK fails on any other shape (vdxp.md "Result envelope").
            raise ConnectorError({"status": "FAIL", "ErrorCode": "shape",
                                  "ErrorDesc": response.text[:500]})
        return parsed

    def call(self, operation: str, params: dict[str, str] | None = None, *,
             method: str = "POST", json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = self.headers_for(operation, params)
        content = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        response = self.http.request(method, self.url(operation), headers=headers,
                                     content=content)
        return self._envelope(response)

    # -- operations -----------------------------------------------------------------------

    def send_edoc(self, raw: bytes, *, sender: str, to: list[str] | None,
                  messagetype: str = "edoc") -> dict[str, Any]:
        params = {"from": sender, "servicetype": "eDoc", "messagetype": messagetype,
                  "hash-file": hashlib.sha256(raw).hexdigest()}
        if to is not None:
            params["to"] = json.dumps(to)
        response = self.http.post(
            self.url("sendEdoc"), headers=self.headers_for("sendEdoc", params),
            files={"file_doc": ("edoc.edxml", raw, "application/octet-stream")})
        return self._envelope(response)

    def get_received_edoc_list(self, messagetype: str = "edoc") -> dict[str, Any]:
        return self.call("getReceivedEdocList",
                         {"servicetype": "eDoc", "messagetype": messagetype})

    def get_edoc(self, doc_id: str) -> dict[str, Any]:
        return self.call("getEdoc", {"docId": doc_id})

    def download_edoc(self, doc_id: str) -> bytes:
        response = self.http.get(self.url("downloadEdoc"),
                                 headers=self.headers_for("downloadEdoc", {"docId": doc_id}))
        if response.headers.get("content-type", "").startswith("application/json"):
            raise ConnectorError(self._envelope(response))
        if response.status_code != 200:
            raise ConnectorError({"status": "FAIL", "ErrorCode": f"http {response.status_code}",
                                  "ErrorDesc": response.text[:500]})
        return response.content

    def update_status(self, doc_id: str, status: str) -> dict[str, Any]:
        return self.call("updateStatus", {"docId": doc_id, "status": status})

    def get_sent_edoc_list(self) -> dict[str, Any]:
        return self.call("getSentEdocList")

    def get_agencies_list(self, level: str | None = None, qd20: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {} if level is None else {"level": level}
        return self.call("getAgenciesListQD20" if qd20 else "getAgenciesList", json_body=body)

    def get_synchronize_unit(self) -> dict[str, Any]:
        return self.call("getSynchronizeUnit")

    def register_agency(self, **fields: Any) -> dict[str, Any]:
        body = {"pcode": self.system_id, **fields}
        return self.call("registerAgency", json_body=body)

    def delete_agency(self, code: str) -> dict[str, Any]:
        return self.call("deleteAgency", {"AgencyCode": code})

    def count_receive_edoc(self) -> dict[str, Any]:
        return self.call("countReceiveEdoc", method="GET")

    def count_receive_status(self) -> dict[str, Any]:
        return self.call("countReceiveStatus", method="GET")
