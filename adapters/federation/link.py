"""`PeerLink` (axis/federation/ports.py) over the national axis's protocol (spec vdxp.md):
the national axis itself, or another Axis node's /vdxp/ listener (adapters/vdxp).

The peer's secret is read from its `secret_file` when a call needs it, so an operator
rotates it by replacing the file; a missing or unreadable file is a failed call
(`peer.unreachable`: nothing can be sent), never a crash of the loop.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import httpx

from adapters.vdxp.client import VdxpClient
from axis import errors
from axis.edxml.model import Kind
from axis.federation.model import Listed, Peer
from axis.route.model import PackageContent


class VdxpLink:
    def __init__(self, http: httpx.Client, now: Callable[[], datetime], *,
                 require_https: bool = True) -> None:
        self._http = http
        self._now = now
        self._require_https = require_https

    def close(self) -> None:
        self._http.close()

    def _client(self, peer: Peer) -> VdxpClient:
        if self._require_https and not peer.endpoint.lower().startswith("https://"):
            raise errors.PEER_UNREACHABLE.error(
                f"{peer.name}: endpoint is not https (federation.require_https)")
        try:
            secret = Path(peer.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise errors.PEER_UNREACHABLE.error(
                f"{peer.name}: secret file {peer.secret_file}: {exc.strerror}") from exc
        return VdxpClient(peer.endpoint, peer.system_id, secret, http=self._http,
                          now=self._now)

    def client(self, peer: Peer) -> VdxpClient:
        """A client of the peer for the calls beyond forwarding and polling (the registry
        sync: adapters/federation/sync_setup.py)."""
        return self._client(peer)

    def send(self, peer: Peer, content: PackageContent, *, sender: str,
             recipients: Sequence[str], kind: Kind) -> str:
        # The whole package in one value: the multipart part needs its length and the
        # `hash-file` header its digest before the body goes out.
        return self._client(peer).send_edoc(
            content.read(), sender=sender, recipients=recipients,
            message_type="status" if kind is Kind.STATUS else "edoc")

    def listed(self, peer: Peer, message_type: str) -> builtins.list[Listed]:
        return [Listed(i.doc_id, message_type)
                for i in self._client(peer).received(message_type)]

    def fetch(self, peer: Peer, doc_id: str) -> bytes:
        return self._client(peer).get_edoc(doc_id)

    def acknowledge(self, peer: Peer, doc_id: str, status: str) -> None:
        self._client(peer).update_status(doc_id, status)

    def sent(self, peer: Peer) -> builtins.list[dict[str, object]]:
        return self._client(peer).sent()
