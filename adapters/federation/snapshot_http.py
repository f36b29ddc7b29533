"""Registry snapshots over HTTP (issue 10, item 5; axis/federation/snapshot.py).

- `router(node)`: `GET /federation/v1/registry`, this node's signed snapshot. Public (what
  it lists is what every peer may know; the signature, not the channel, is the proof),
  and cheap: signed once per registry version, then served from memory until the version
  moves (one tiny read per request).
- `fetch(...)`: the client side, reading a peer's snapshot from its endpoint.
- `snapshots_for(node)`: `PeerSnapshots` wired to a node, for the CLI, the admin API and
  the scheduled job. The import goes through the national registry sync's rules
  (`RegistrySync` with the snapshot as its source, actor `sync:<peer>`), so its conflicts
  are stored and shown with the sync's (`axis peer units NAME`).
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable
from datetime import datetime

import httpx
from fastapi import APIRouter
from pydantic import BaseModel, Field

from adapters.node import Node
from adapters.store.registry_repo import SqlRegistryStore
from adapters.store.snapshot_repo import SqlSnapshotStore
from adapters.store.sync_repo import SqlSyncStore
from axis import errors
from axis.federation.model import Peer
from axis.federation.registry_sync import RegistrySync, SyncReport, Unit
from axis.federation.snapshot import (
    FORMAT,
    MAX_BYTES,
    PeerSnapshots,
    SignedSnapshot,
    build,
    sign,
)

PATH = "/federation/v1/registry"
_VDXP = "/vdxp"
# base64 grows the snapshot by a third; the certificates and the envelope add a little.
_MAX_ANSWER = MAX_BYTES * 4 // 3 + 256 * 1024


class SignedSnapshotOut(BaseModel):
    snapshot: str = Field(description=f"base64 of the canonical JSON bytes ({FORMAT})")
    signature: str = Field(description="base64 of the node key's signature over those "
                                       "bytes (RSA PKCS#1 v1.5 or ECDSA, SHA-256)")
    certificates: str = Field(description="PEM: the node's signing certificate first, "
                                          "then any intermediates")


class Publisher:
    """This node's signed snapshot, signed again only when the registry's version moved."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._store = SqlRegistryStore(node.engine)
        self._lock = threading.Lock()
        self._cached: tuple[int, SignedSnapshot] | None = None

    def current(self) -> SignedSnapshot:
        version = self._store.version()
        cached = self._cached
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] == version:
                return cached[1]
            # One consistent read: the agencies exactly as they were at that version.
            snap = self._store.snapshot()
            node = self._node
            signed = sign(build(snap.agencies, node=node.signer.cert.subject.rfc4514_string(),
                                province=node.settings.province, version=snap.version,
                                at=node.exchange.clock.now()), node.signer)
            self._cached = (snap.version, signed)
            return signed


def router(node: Node) -> APIRouter:
    r = APIRouter(tags=["federation"])
    publisher = Publisher(node)

    @r.get(PATH, responses={200: {"description": "the signed snapshot"}})
    def registry_snapshot() -> SignedSnapshotOut:
        """The agencies this node serves (internal, not retired), signed with the node key:
        what a peer Axis node imports as served by this node (axis peer snapshot)."""
        return SignedSnapshotOut.model_validate(publisher.current().as_json())

    return r


def snapshot_url(endpoint: str) -> str:
    """The peer's endpoint is its protocol base (`…/vdxp`); the snapshot is beside it."""
    base = endpoint.rstrip("/")
    if base.endswith(_VDXP):
        base = base[: -len(_VDXP)]
    return base + PATH


def fetch(http: httpx.Client, peer: Peer, *, require_https: bool) -> SignedSnapshot:
    url = snapshot_url(peer.endpoint)
    if require_https and not url.startswith("https://"):
        raise errors.PEER_INVALID.error(f"{url}: https required (federation.require_https)")
    try:
        with http.stream("GET", url, headers={"accept": "application/json"}) as answer:
            if answer.status_code != 200:
                raise errors.PEER_BAD_ANSWER.error(f"GET {url}: HTTP {answer.status_code}")
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > _MAX_ANSWER:
                    raise errors.PEER_SNAPSHOT_INVALID.error(
                        f"GET {url}: more than {_MAX_ANSWER} bytes")
    except httpx.HTTPError as exc:
        raise errors.PEER_UNREACHABLE.error(f"GET {url}: {type(exc).__name__}: {exc}") \
            from exc
    try:
        doc = json.loads(bytes(body))
    except ValueError as exc:
        raise errors.PEER_BAD_ANSWER.error(f"GET {url}: not JSON") from exc
    return SignedSnapshot.from_json(doc)


class _Listed:
    """The registry sync's source: the units of one verified snapshot."""

    def __init__(self, units: builtins.list[Unit]) -> None:
        self._units = units

    def units(self, peer: Peer) -> tuple[str, builtins.list[Unit]]:
        return FORMAT, self._units

    def register(self, peer: Peer, fields: dict[str, str]) -> None:
        raise errors.PEER_INVALID.error("registration is not part of a snapshot")

    def unregister(self, peer: Peer, code: str) -> None:
        raise errors.PEER_INVALID.error("registration is not part of a snapshot")


def _journal(node: Node) -> Callable[[datetime, str, str, dict[str, object]], None]:
    def journal(at: datetime, kind: str, ref: str, payload: dict[str, object]) -> None:
        with node.store.transaction() as tx:
            tx.append_journal(at, kind, ref, payload)

    return journal


def snapshots_for(node: Node, http: httpx.Client | None = None) -> PeerSnapshots:
    """`http`: the client to fetch with (default: one per pull, closed after it)."""
    settings = node.settings.federation
    journal = _journal(node)

    def importer(peer: Peer, units: builtins.list[Unit]) -> SyncReport:
        source = _Listed(units)
        return RegistrySync(registry=node.registry, source=source, registrar=source,
                            store=SqlSyncStore(node.engine), peers=node.peers.get,
                            journal=journal, clock=node.exchange.clock,
                            own_centers=(node.settings.province,)).sync(peer.name)

    def get(peer: Peer) -> SignedSnapshot:
        if http is not None:
            return fetch(http, peer, require_https=settings.require_https)
        with httpx.Client(timeout=settings.timeout_seconds, follow_redirects=False) as c:
            return fetch(c, peer, require_https=settings.require_https)

    return PeerSnapshots(peers=node.peers.get, fetch=get, store=SqlSnapshotStore(node.engine),
                         chains=node.trust.verifier.chains, importer=importer,
                         agencies=node.registry.export, journal=journal,
                         clock=node.exchange.clock)
