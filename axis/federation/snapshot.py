"""Signed, versioned registry snapshots between Axis nodes (issue 10, item 5).

Each node publishes the agencies it serves (internal, not retired) as one JSON document in
a canonical byte form, signed with its node key. A node that peers with it verifies, in
this order, before anything changes: the bytes are a snapshot of this format; the signing
certificate chains to the installed anchors (at the time of receipt); its fingerprint is
one of the peer's `node_certificates` (chaining alone would let any node of the national
PKI speak for any peer); the signature over the exact bytes; the version is newer than
the one held (a replayed or rolled-back snapshot cannot undo a later one). Every refusal
is `peer.snapshot_invalid`.

The SHA-256 of the signed bytes is what both administrators compare out of band.

Importing what a snapshot lists reuses the national registry sync's rules
(axis/federation/registry_sync.py): `units_of` turns a verified snapshot into the sync's
`Unit`s, with an agency the peer no longer lists becoming a deleted unit (retired here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from axis import errors
from axis.clock import Clock, as_vietnam, iso
from axis.errors import AxisError
from axis.federation.model import Peer, PeerKind
from axis.federation.registry_sync import SyncReport, Unit
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.trust import detached
from axis.trust.chain import ChainValidator
from axis.trust.sign import NodeSigner
from axis.trust.verdict import fingerprint

log = logging.getLogger("axis.federation.snapshot")

FORMAT = "axis-registry-snapshot/1"
# A snapshot is a province's agencies (hundreds); the bound keeps a hostile peer from
# making this node parse gigabytes.
MAX_BYTES = 8 * 1024 * 1024
MAX_AGENCIES = 50_000
_FIELDS = ("agency_id", "short_id", "name", "parent_id", "level", "state")


@dataclass(frozen=True, slots=True)
class SnapshotAgency:
    agency_id: str
    short_id: str
    name: str
    parent_id: str | None
    level: int
    state: AgencyState  # active or suspended (retired agencies are not listed)

    def as_json(self) -> dict[str, object]:
        return {"agency_id": self.agency_id, "short_id": self.short_id, "name": self.name,
                "parent_id": self.parent_id, "level": self.level, "state": self.state.value}


@dataclass(frozen=True, slots=True)
class Snapshot:
    node: str  # the publishing node's certificate subject (RFC 4514)
    province: str  # the publishing node's province (its "center")
    version: int  # the publisher's registry version: every registry write bumps it
    issued_at: datetime
    agencies: tuple[SnapshotAgency, ...]

    def as_json(self) -> dict[str, object]:
        return {"format": FORMAT, "node": self.node, "province": self.province,
                "version": self.version, "issued_at": iso(self.issued_at),
                "agencies": [a.as_json() for a in self.agencies]}


def build(agencies: Iterable[Agency], *, node: str, province: str, version: int,
          at: datetime) -> Snapshot:
    """The snapshot of the agencies this node serves, ordered by identifier."""
    served = sorted((a for a in agencies
                     if a.kind is AgencyKind.INTERNAL and a.state is not AgencyState.RETIRED),
                    key=lambda a: a.agency_id)
    return Snapshot(node=node, province=province, version=version, issued_at=as_vietnam(at),
                    agencies=tuple(SnapshotAgency(a.agency_id, a.short_id, a.name,
                                                  a.parent_id, a.level, a.state)
                                   for a in served))


def canonical(snapshot: Snapshot) -> bytes:
    """One byte form for one value: sorted keys, no insignificant white space, UTF-8."""
    return json.dumps(snapshot.as_json(), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def _invalid(detail: str) -> AxisError:
    return errors.PEER_SNAPSHOT_INVALID.error(detail)


def parse(raw: bytes) -> Snapshot:
    """The snapshot in `raw`; `peer.snapshot_invalid` when it is not one of this format."""
    if len(raw) > MAX_BYTES:
        raise _invalid(f"{len(raw)} bytes > {MAX_BYTES}")
    try:
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        version = doc["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError("version: a non-negative integer")
        issued = datetime.fromisoformat(str(doc["issued_at"]))
        if issued.tzinfo is None:
            raise ValueError("issued_at without an offset")
        rows = doc["agencies"]
        if not isinstance(rows, list) or len(rows) > MAX_AGENCIES:
            raise ValueError(f"agencies: a list of at most {MAX_AGENCIES}")
        agencies = []
        for row in rows:
            if not isinstance(row, dict) or set(row) != set(_FIELDS):
                raise ValueError(f"an agency has the fields {', '.join(_FIELDS)}")
            state = AgencyState(row["state"])
            if state is AgencyState.RETIRED:
                raise ValueError(f"{row['agency_id']}: a retired agency is not listed")
            if not isinstance(row["level"], int) or isinstance(row["level"], bool):
                raise ValueError(f"{row['agency_id']}: level is an integer")
            parent = row["parent_id"]
            agencies.append(SnapshotAgency(str(row["agency_id"]), str(row["short_id"]),
                                           str(row["name"]),
                                           None if parent is None else str(parent),
                                           row["level"], state))
        ids = [a.agency_id for a in agencies]
        if len(set(ids)) != len(ids) or not all(i.strip() for i in ids):
            raise ValueError("agency ids: present and listed once each")
        return Snapshot(node=str(doc["node"]), province=str(doc["province"]),
                        version=version, issued_at=as_vietnam(issued),
                        agencies=tuple(agencies))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise _invalid(f"not a registry snapshot: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SignedSnapshot:
    """What travels: the canonical bytes, the signature over them, the certificates
    (the signer's first, then any intermediates), PEM."""

    raw: bytes
    signature: bytes
    certificates: str

    @property
    def sha256(self) -> str:
        """The hash of the signed bytes: what the administrator is shown."""
        return hashlib.sha256(self.raw).hexdigest()

    def as_json(self) -> dict[str, str]:
        return {"snapshot": base64.b64encode(self.raw).decode("ascii"),
                "signature": base64.b64encode(self.signature).decode("ascii"),
                "certificates": self.certificates}

    @classmethod
    def from_json(cls, doc: object) -> SignedSnapshot:
        """From the publishing endpoint's answer; `peer.snapshot_invalid` otherwise."""
        try:
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            raw = base64.b64decode(str(doc["snapshot"]), validate=True)
            signature = base64.b64decode(str(doc["signature"]), validate=True)
            certificates = doc["certificates"]
            if not isinstance(certificates, str):
                raise ValueError("certificates: PEM text")
        except (ValueError, KeyError, binascii.Error) as exc:
            raise _invalid(f"not a signed snapshot: {exc}") from exc
        return cls(raw, signature, certificates)


def sign(snapshot: Snapshot, signer: NodeSigner) -> SignedSnapshot:
    """Signed with the node key: RSA PKCS#1 v1.5 or ECDSA, SHA-256 (as the key is)."""
    raw = canonical(snapshot)
    signature, pem = detached.sign(signer, raw)
    return SignedSnapshot(raw, signature, pem)


@dataclass(frozen=True, slots=True)
class VerifiedSnapshot:
    snapshot: Snapshot
    sha256: str  # of the signed bytes
    signer: str  # the signing certificate's fingerprint


def verify(signed: SignedSnapshot, *, peer: Peer, chains: ChainValidator, at: datetime,
           last_version: int | None) -> VerifiedSnapshot:
    """The snapshot, when `peer`'s node signed it and it is newer than `last_version`
    (None: none held yet); `peer.snapshot_invalid` otherwise (module docstring)."""
    snapshot = parse(signed.raw)  # bounded and well-formed before any key is used
    try:
        certs = detached.certificates(signed.certificates)
    except ValueError as exc:
        raise _invalid(f"unreadable certificates: {exc}") from exc
    leaf = certs[0]
    fp = fingerprint(leaf)
    # Only installed certificates issue (axis/trust/chain.py): intermediates carried in
    # the snapshot are not used to build the chain.
    try:
        chains.validate(leaf, as_vietnam(at), fp=fp)
    except AxisError as exc:
        raise _invalid(f"signing certificate {fp}: {exc.code.id}: {exc.detail}") from exc
    if fp not in peer.node_certificates:
        raise _invalid(f"signing certificate {fp} is not one of peer {peer.name}'s node "
                       "certificates")
    bad = detached.problem(leaf, signed.signature, signed.raw)
    if bad is not None:
        raise _invalid(f"{bad}: the snapshot (certificate {fp})")
    if last_version is not None and snapshot.version <= last_version:
        raise _invalid(f"version {snapshot.version} is not newer than the one held "
                       f"({last_version})")
    return VerifiedSnapshot(snapshot, signed.sha256, fp)


def units_of(verified: VerifiedSnapshot, served_here: Sequence[Agency]) -> list[Unit]:
    """The snapshot as the registry sync's units: each listed agency under the
    publisher's province as its center and the snapshot's version; each agency in
    `served_here` (this node's external agencies served by that peer, alive) that the
    snapshot no longer lists, as deleted."""
    snap = verified.snapshot
    version = str(snap.version)
    units = [Unit(code=a.agency_id, name=a.name, center=snap.province, version=version,
                  parent_code=a.parent_id or "") for a in snap.agencies]
    listed = {a.agency_id for a in snap.agencies}
    units += [Unit(code=a.agency_id, name=a.name, center=snap.province, version=version,
                   deleted=True)
              for a in served_here
              if a.agency_id not in listed and a.state is not AgencyState.RETIRED]
    return units


@dataclass(frozen=True, slots=True)
class HeldSnapshot:
    """The last snapshot accepted from a peer (adapters/store/snapshot_repo.py)."""

    peer: str
    version: int
    sha256: str
    signer: str
    issued_at: datetime
    received_at: datetime
    agencies: int

    def public(self) -> dict[str, object]:
        return {"peer": self.peer, "version": self.version, "sha256": self.sha256,
                "signer": self.signer, "issued_at": iso(self.issued_at),
                "received_at": iso(self.received_at), "agencies": self.agencies}


class SnapshotStore(Protocol):
    """What is held per peer (adapters/store/snapshot_repo.py)."""

    def held(self, peer: str) -> HeldSnapshot | None: ...

    def record(self, held: HeldSnapshot) -> bool:
        """Keep it when newer than what is held; whether it was kept."""
        ...


@dataclass(frozen=True, slots=True)
class PullReport:
    """One snapshot taken from a peer: what it was and what the import did."""

    held: HeldSnapshot
    sync: SyncReport

    def public(self) -> dict[str, object]:
        return {**self.held.public(), "import": self.sync.public()}


Journal = Callable[[datetime, str, str, dict[str, object]], None]
PeerLookup = Callable[[str], Peer | None]
Fetch = Callable[[Peer], SignedSnapshot]
# The registry sync's rules applied to these units for that peer (adapters: a
# `RegistrySync` whose source is the snapshot).
Importer = Callable[[Peer, list[Unit]], SyncReport]
AgencyList = Callable[[], list[Agency]]


class PeerSnapshots:
    """Pull, verify and import a peer's snapshot; the one operation the CLI, the admin
    API and the scheduled job call."""

    def __init__(self, *, peers: PeerLookup, fetch: Fetch, store: SnapshotStore,
                 chains: ChainValidator, importer: Importer, agencies: AgencyList,
                 journal: Journal, clock: Clock) -> None:
        self._peers = peers
        self._fetch = fetch
        self._store = store
        self._chains = chains
        self._importer = importer
        self._agencies = agencies
        self._journal = journal
        self._clock = clock

    def peer(self, name: str) -> Peer:
        peer = self._peers(name)
        if peer is None:
            raise errors.PEER_UNKNOWN.error(repr(name))
        if peer.kind is not PeerKind.AXIS:
            raise errors.PEER_INVALID.error(
                f"peer {name} is of kind {peer.kind.value}: only Axis nodes publish "
                "registry snapshots (the national axis is read by `axis peer sync`)")
        return peer

    def held(self, name: str) -> HeldSnapshot | None:
        self.peer(name)
        return self._store.held(name)

    def pull(self, name: str) -> PullReport:
        """Fetch, verify (nothing changes when it is refused), import, keep, journal."""
        peer = self.peer(name)
        return self.accept(peer, self._fetch(peer))

    def refresh(self, name: str) -> PullReport | None:
        """`pull` for the scheduled job: a snapshot of the version already held is no
        news and gives None, unused (the peer may sign one version again, after a restart
        or from another of its processes, with a later issued_at); an older one is still
        refused."""
        peer = self.peer(name)
        signed = self._fetch(peer)
        held = self._store.held(peer.name)
        if held is not None and parse(signed.raw).version == held.version:
            return None
        return self.accept(peer, signed)

    def accept(self, peer: Peer, signed: SignedSnapshot) -> PullReport:
        at = self._clock.now()
        before = self._store.held(peer.name)
        try:
            verified = verify(signed, peer=peer, chains=self._chains, at=at,
                              last_version=before.version if before else None)
        except AxisError as exc:
            log.warning("%s: peer %s, snapshot %s: %s", exc.code.id, peer.name,
                        signed.sha256, exc.detail)
            raise
        served_here = [a for a in self._agencies() if a.peer == peer.name]
        report = self._importer(peer, units_of(verified, served_here))
        snap = verified.snapshot
        held = HeldSnapshot(peer.name, snap.version, verified.sha256, verified.signer,
                            snap.issued_at, at, len(snap.agencies))
        if not self._store.record(held):
            # Another process took a newer one meanwhile: the import above was of an
            # older one and the next pull brings the registry in step again.
            raise _invalid(f"version {snap.version}: a newer snapshot was taken meanwhile")
        self._journal(at, "peer.snapshot", peer.name, {
            **held.public(), "node": snap.node, "province": snap.province,
            **report.counts()})
        return PullReport(held, report)
