"""A real uvicorn server on 127.0.0.1 (port 0) serving the agency API of a test node
(tests/exchange_support.py), and signed clients for its agencies.

The server runs in a thread of the test process, on a real socket: requests go through
uvicorn's HTTP parser exactly as an agency system's would. Readiness is the server's own
start-up completing (an event), its port read from the bound socket: no sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from exchange_support import TestNode

from adapters.client.agency import AgencyClient
from adapters.rest.app import create_app
from adapters.rest.auth import AgencyAuth
from axis.settings import RestSettings


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()  # started, or failed: the waiting test looks at `started`


@dataclass
class RestNode:
    __test__ = False

    t: TestNode
    url: str
    auth: AgencyAuth

    def credential(self, agency_id: str, system_id: str | None = None) -> tuple[str, str]:
        issued = self.t.node.registry.issue_credential(
            agency_id, actor="test", reason="kết nối hệ thống QLVB", system_id=system_id,
            secret_for=self.auth.gate.secret_for)
        return issued.credential.system_id, issued.secret

    def client(self, agency_id: str, *, system_id: str | None = None) -> AgencyClient:
        sid, secret = self.credential(agency_id, system_id)
        return self.client_for(sid, secret)

    def client_for(self, system_id: str, secret: str) -> AgencyClient:
        # The client signs with the node's (fixed) clock, so timestamps fall in the window.
        return AgencyClient(self.url, system_id, secret, timeout=30,
                            clock=lambda: self.t.clock.now().timestamp())


@contextmanager
def serve(t: TestNode, rest: RestSettings | None = None) -> Iterator[RestNode]:
    settings = t.node.settings.model_copy(update={"rest": rest or RestSettings()})
    app = create_app(settings, t.node, t.clock)
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                    lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        assert server.ready.wait(30) and server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RestNode(t, f"http://127.0.0.1:{port}", app.state.agency_auth)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
