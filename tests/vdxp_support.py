"""A real uvicorn server on 127.0.0.1 serving a test node with the vdxp compatibility
listener configured (tests/exchange_support.py for the node, tests/rest_support.py for the
server), credentials issued as `axis credentials` does, and a request builder written
from ../shared/spec/vdxp.md alone (not from adapters/vdxp): what an SDK-built connector
sends, including the Java HashMap's unstable key order and its default JSON spacing."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import uvicorn
from exchange_support import TestNode
from rest_support import _Server

from adapters.rest.app import create_app
from axis.auth import keys, signing
from axis.clock import VN_TZ
from axis.settings import RestSettings, VdxpSettings


@dataclass
class VdxpNode:
    __test__ = False

    t: TestNode
    url: str
    master: bytes

    def credential(self, agency_id: str, system_id: str) -> str:
        issued = self.t.node.registry.issue_credential(
            agency_id, actor="test", reason="kết nối hệ thống QLVB qua SDK trục quốc gia",
            system_id=system_id,
            secret_for=lambda sid: signing.derive_secret(self.master, sid))
        return issued.secret

    def journal(self, kind: str = "vdxp.call") -> list[dict[str, object]]:
        return [dict(e.payload) for e in self.t.node.store.journal() if e.kind == kind]


@contextmanager
def serve_vdxp(t: TestNode, vdxp: VdxpSettings,
               rest: RestSettings | None = None) -> Iterator[VdxpNode]:
    settings = t.node.settings.model_copy(update={"vdxp": vdxp,
                                                  "rest": rest or RestSettings()})
    app = create_app(settings, t.node, t.clock)
    # uvicorn's own X-Forwarded-For handling off (it trusts 127.0.0.1 by default): the
    # listener's source binding reads rest.trusted_proxies, and the tests call from there.
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                    lifespan="on", proxy_headers=False))
    thread = threading.Thread(target=server.run, name="uvicorn-vdxp", daemon=True)
    thread.start()
    try:
        assert server.ready.wait(30) and server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield VdxpNode(t, f"http://127.0.0.1:{port}/vdxp", keys.master_key(settings))
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def sdk_timestamp(at: datetime) -> str:
    """ddMMyyyy'T'HHmmss+SSSS, Vietnam time (the SDK's SimpleDateFormat)."""
    v = at.astimezone(VN_TZ)
    return v.strftime("%d%m%YT%H%M%S") + f"+{v.microsecond // 1000:04d}"


def sdk_headers(system_id: str, secret: str, params: dict[str, str], at: datetime, *,
                seed: int = 7, sign_meta: bool = True) -> list[tuple[str, str]]:
    """The headers as the SDK sends them: every parameter plain and `XroadVnpt-`
    prefixed, the signed JSON in an arbitrary key order with Java-like spacing, and its
    lower-case hex HMAC-SHA256. `sign_meta`: also sign the system id and timestamp."""
    stamp = sdk_timestamp(at)
    signed = dict(params)
    if sign_meta:
        signed |= {"XroadVnpt-systemid": system_id, "XroadVnpt-timestamp": stamp}
    items = list(signed.items())
    random.Random(seed).shuffle(items)  # a HashMap's order: not ours to predict
    sign_header = json.dumps(dict(items), separators=(", ", ": "))
    mac = hmac.new(secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        out += [(name, value), (f"XroadVnpt-{name}", value)]
    return [
        *out,
        ("XroadVnpt-systemid", system_id), ("XroadVnpt-timestamp", stamp),
        ("XroadVnpt-version", "3.0.201608"),
        ("XroadVnpt-sign-header-key", ";".join(k for k, _ in items)),
        ("XroadVnpt-sign-header", sign_header), ("XroadVnpt-hash-header", mac),
        ("User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP"),
    ]
