"""A small client of the agency API: signs every request (docs/api.md) and turns refusals
into `AgencyApiError` carrying the node's code.

Each request is signed afresh with a strictly increasing timestamp (microseconds), so
that two identical requests never share a signature: the node accepts a signature once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from axis.auth import signing


class AgencyApiError(Exception):
    """A refusal or a fault, as the node reported it."""

    def __init__(self, status: int, body: dict[str, Any], retry_after: int | None = None):
        self.status = status
        self.code = str(body.get("code", f"http.{status}"))
        self.message_vi = str(body.get("message_vi", ""))
        self.message_en = str(body.get("message_en", ""))
        self.error_id = str(body.get("error_id", ""))
        self.detail = str(body.get("detail", ""))
        self.body = body
        self.retry_after = retry_after
        super().__init__(f"{status} {self.code}: {self.detail or self.message_en}"
                         f" (error id {self.error_id})")


class AgencyClient:
    def __init__(
        self, base_url: str, system_id: str, secret: str, *, timeout: float = 60.0,
        clock: Callable[[], float] = time.time, transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.system_id = system_id
        self._secret = secret
        self._clock = clock
        self._last_micros = 0
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                  transport=transport)

    # --- the API ------------------------------------------------------------------------
    def send(self, package: bytes, *, message_type: str | None = None,
             multipart: bool = True, filename: str = "edoc.xml") -> dict[str, Any]:
        """`POST /v1/sendEdoc`: the receipt."""
        params = {"messageType": message_type} if message_type else None
        if multipart:
            files = {"edocFile": (filename, package, "application/xml")}
            r = self.request("POST", "/v1/sendEdoc", params=params, files=files)
        else:
            r = self.request("POST", "/v1/sendEdoc", params=params, content=package,
                             headers={"Content-Type": "application/xml"})
        return dict(r.json())

    def pull_page(self, *, message_type: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, offset: int = 0, limit: int = 100,
                  ) -> dict[str, Any]:
        """`GET /v1/syncReceivedEdocList`: one page."""
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if message_type:
            params["messageType"] = message_type
        if since:
            params["since"] = since.isoformat()
        if until:
            params["until"] = until.isoformat()
        return dict(self.request("GET", "/v1/syncReceivedEdocList", params=params).json())

    def pull(self, *, message_type: str | None = None, since: datetime | None = None,
             until: datetime | None = None, page: int = 100) -> Iterator[dict[str, Any]]:
        """Every item that waits, page after page."""
        offset: int | None = 0
        while offset is not None:
            got = self.pull_page(message_type=message_type, since=since, until=until,
                                 offset=offset, limit=page)
            yield from got["items"]
            offset = got["next_offset"]

    def get(self, doc_id: str) -> tuple[bytes, dict[str, str]]:
        """`GET /v1/getEdoc`: the package bytes and the X-Axis-* headers."""
        r = self.request("GET", "/v1/getEdoc", params={"docId": doc_id})
        return r.content, {k: v for k, v in r.headers.items() if k.lower().startswith("x-axis")}

    def update_status(self, doc_id: str, status: str) -> dict[str, Any]:
        """`POST /v1/updateStatus`: processing, done or fail."""
        r = self.request("POST", "/v1/updateStatus", json={"docId": doc_id, "status": status})
        return dict(r.json())

    def trail(self, document_id: str) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/trail", params={"documentId": document_id}).json())

    def agencies(self) -> dict[str, Any]:
        """`GET /v1/agencies`: `caller` (who this client is) and `agencies`."""
        return dict(self.request("GET", "/v1/agencies").json())

    # --- signing ------------------------------------------------------------------------
    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> httpx.Response:
        """A signed request; raises `AgencyApiError` for any 4xx or 5xx answer."""
        return self.dispatch(self.prepare(method, path, headers=headers, **kwargs))

    def prepare(self, method: str, path: str, *, sign: bool = True,
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Request:
        """A request built (and signed) but not sent: tests replay or alter it."""
        req = self._http.build_request(method, path, headers=headers, **kwargs)
        if sign:
            self.sign(req)
        return req

    def dispatch(self, req: httpx.Request) -> httpx.Response:
        r = self._http.send(req)
        if r.status_code >= 400:
            raise error_of(r)
        return r

    def sign(self, req: httpx.Request, *, timestamp: str | None = None) -> None:
        body = req.read()  # multipart and JSON bodies are built by now: sign what is sent
        ts = timestamp or self._timestamp()
        target = req.url.raw_path.decode("ascii")
        req.headers[signing.SYSTEM_ID_HEADER] = self.system_id
        req.headers[signing.TIMESTAMP_HEADER] = ts
        req.headers[signing.SIGNATURE_HEADER] = signing.sign_request(
            self._secret, req.method, target, ts, body)

    def _timestamp(self) -> str:
        # Whole microseconds: float steps of 1e-6 could round to the same text.
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgencyClient:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def error_of(r: httpx.Response) -> AgencyApiError:
    try:
        body = r.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    retry = r.headers.get("retry-after", "")
    return AgencyApiError(r.status_code, body, int(retry) if retry.isdigit() else None)
