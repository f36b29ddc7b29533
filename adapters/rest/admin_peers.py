"""/admin/v1/peers: the peer nodes (issue 10, item 6), the same operations as `axis peer`
(axis/federation/peers.py), under the admin API's tokens and roles; and the national
registry sync of each peer (item 1, axis/federation/registry_sync.py)."""

from __future__ import annotations

from fastapi import APIRouter, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from adapters.federation.snapshot_http import snapshots_for
from adapters.federation.sync_setup import registry_sync_for
from adapters.node import Node
from adapters.rest.admin import ADMIN, OPERATOR, REGISTRY_ADMIN, RESEND, ReasonIn, Who, _responses
from adapters.rest.admin_auth import admin_route_class
from axis.federation.model import PeerKind
from axis.settings import Settings


class PeerIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    kind: PeerKind = PeerKind.VDXP
    endpoint: str = Field(min_length=1, max_length=500)
    system_id: str = Field(min_length=1, max_length=128)
    secret_file: str = Field(min_length=1, max_length=500,
                             description="a file on the node holding the shared secret")
    admit_unsigned: list[str] = Field(default_factory=list, max_length=1000)
    node_certificates: list[str] = Field(
        default_factory=list, max_length=20,
        description="SHA-256 fingerprints of the peer node's signing certificates")
    provinces: list[str] = Field(
        default_factory=list, max_length=100,
        description="level-1 groups (H41, G22) routed to this peer by identifier")
    unreachable_after_s: int = Field(default=900, ge=1)
    note: str = Field(default="", max_length=2000)


class BacklogOut(BaseModel):
    waiting: int
    oldest_waiting_at: str | None
    attempts: int
    next_attempt_at: str | None
    dead_letters: int


class PeerOut(BaseModel):
    name: str
    kind: PeerKind
    endpoint: str
    system_id: str
    secret_file: str
    admit_unsigned: list[str]
    node_certificates: list[str]
    provinces: list[str]
    unreachable_after_s: int
    active: bool
    note: str
    added_at: str | None
    last_success_at: str | None
    last_failure_at: str | None
    failing_since: str | None
    last_error: str


class PeerStatusOut(PeerOut):
    agencies: int = Field(description="agencies this peer serves")
    unreachable: bool = Field(description="failing for longer than unreachable_after_s")
    backlog: BacklogOut


class PeerListOut(BaseModel):
    peers: list[PeerStatusOut]


class ResentOut(BaseModel):
    peer: str
    resent: list[str]


class ResendIn(ReasonIn):
    delivery_ids: list[str] = Field(default_factory=list, max_length=10_000,
                                    description="default: every dead letter of the peer")


class SyncUnitOut(BaseModel):
    peer: str
    code: str
    name: str
    center: str = Field(description="centerCode: the axis that serves the unit")
    version: str
    deleted: bool
    synced_at: str
    outcome: str = Field(description="what the last sync did: added, updated, retired, "
                                     "unchanged, ours, ignored, conflict")


class SyncConflictOut(BaseModel):
    peer: str
    code: str
    kind: str = Field(description="claimed_twice, internal, other_peer, ours_unknown, "
                                  "retired, refused")
    detail: str
    first_seen: str
    last_seen: str
    resolved_at: str | None


class SyncUnitsOut(BaseModel):
    peer: str
    units: list[SyncUnitOut]
    conflicts: list[SyncConflictOut] = Field(description="open ones, unless resolved=true")


class SyncReportOut(BaseModel):
    peer: str
    operation: str = Field(description="getSynchronizeUnit, or the list it fell back to")
    at: str
    listed: int
    added: int
    updated: int
    retired: int
    unchanged: int
    ours: int
    ignored: int
    conflicts: int
    new_conflicts: int
    open_conflicts: list[SyncConflictOut]


class RegistrationIn(ReasonIn):
    agency_id: str = Field(min_length=1, max_length=64,
                           description="one of this node's own (internal) agencies")


class RegistrationOut(BaseModel):
    peer: str
    agency_id: str
    state: str = Field(description="registered, unregistered")
    at: str
    actor: str
    reason: str


class PeerSnapshotOut(BaseModel):
    """The registry snapshot held from an Axis peer (axis peer snapshot); nulls when none
    was taken yet."""

    peer: str
    version: int | None = Field(description="the peer's registry version it was signed at")
    sha256: str | None = Field(description="SHA-256 of the signed bytes: compare it with "
                                           "the peer's administrator's")
    signer: str | None = Field(description="fingerprint of the peer's node certificate")
    issued_at: str | None
    received_at: str | None
    agencies: int | None = Field(description="agencies the snapshot listed")


class SnapshotPullOut(BaseModel):
    snapshot: PeerSnapshotOut
    imported: SyncReportOut = Field(description="what the import did (the registry "
                                                "sync's rules and conflicts)")


def router(settings: Settings, node: Node) -> APIRouter:
    bearer = HTTPBearer(auto_error=False, scheme_name="AdminBearer",
                        description="an administrator token (`axis admin token`)")
    r = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Security(bearer)],
                  route_class=admin_route_class(lambda: settings.admin.tokens, node.access))
    peers = node.peer_admin

    @r.get("/peers", openapi_extra=OPERATOR, responses=_responses())
    def list_peers() -> PeerListOut:
        """Every peer with its backlog, oldest waiting copy, attempts, dead letters and
        last success; `unreachable` when failing longer than its bound."""
        return PeerListOut(peers=[PeerStatusOut.model_validate(v.public())
                                  for v in peers.status()])

    @r.get("/peers/{name}", openapi_extra=OPERATOR, responses=_responses(404))
    def show_peer(name: str) -> PeerStatusOut:
        return PeerStatusOut.model_validate(peers.show(name).public())

    @r.post("/peers", status_code=201, openapi_extra=ADMIN, responses=_responses(422))
    def add_peer(body: PeerIn, who: Who) -> PeerOut:
        """Register a peer node (its secret stays in the file named)."""
        peer = peers.add(name=body.name, kind=body.kind, endpoint=body.endpoint,
                         system_id=body.system_id, secret_file=body.secret_file,
                         admit_unsigned=body.admit_unsigned,
                         node_certificates=body.node_certificates,
                         provinces=body.provinces,
                         unreachable_after_s=body.unreachable_after_s, note=body.note,
                         actor=who.name)
        return PeerOut.model_validate(peer.public())

    @r.post("/peers/{name}/resend", openapi_extra=RESEND, responses=_responses(404, 422))
    def resend(name: str, body: ResendIn, who: Who) -> ResentOut:
        """The peer's dead letters (or the ones named) back in its queue, same key."""
        peers.get(name)  # peer.unknown (404) before anything else
        resent = peers.resend(name, body.delivery_ids, actor=who.name, reason=body.reason)
        node.worker.wake.set()
        return ResentOut(peer=name, resent=resent)

    sync = registry_sync_for(node)

    @r.get("/peers/{name}/units", openapi_extra=OPERATOR, responses=_responses(404, 422))
    def units(name: str, resolved: bool = False) -> SyncUnitsOut:
        """The units last seen in the peer's registry and the sync's conflicts (open
        ones; resolved ones too with `resolved=true`)."""
        return SyncUnitsOut(
            peer=name, units=[SyncUnitOut.model_validate(u.public()) for u in sync.units(name)],
            conflicts=[SyncConflictOut.model_validate(c.public())
                       for c in sync.conflicts(name, open_only=not resolved)])

    @r.post("/peers/{name}/sync", openapi_extra=REGISTRY_ADMIN, responses=_responses(404))
    def sync_now(name: str) -> SyncReportOut:
        """Read the peer's registry into ours now (what the scheduled job does)."""
        return SyncReportOut.model_validate(sync.sync(name).public())

    snapshots = snapshots_for(node)

    @r.get("/peers/{name}/snapshot", openapi_extra=OPERATOR, responses=_responses(404, 422))
    def held_snapshot(name: str) -> PeerSnapshotOut:
        """The registry snapshot last taken from an Axis peer: its version and hash."""
        held = snapshots.held(name)
        if held is None:
            return PeerSnapshotOut(peer=name, version=None, sha256=None, signer=None,
                                   issued_at=None, received_at=None, agencies=None)
        return PeerSnapshotOut.model_validate(held.public())

    @r.post("/peers/{name}/snapshot", openapi_extra=ADMIN, responses=_responses(404, 422))
    def pull_snapshot(name: str) -> SnapshotPullOut:
        """Take the Axis peer's signed registry snapshot now (what the scheduled job
        does): verified, then imported as agencies served by that peer."""
        report = snapshots.pull(name)
        return SnapshotPullOut(snapshot=PeerSnapshotOut.model_validate(report.held.public()),
                               imported=SyncReportOut.model_validate(report.sync.public()))

    @r.post("/peers/{name}/register", openapi_extra=REGISTRY_ADMIN, responses=_responses(404, 422))
    def register_agency(name: str, body: RegistrationIn, who: Who) -> RegistrationOut:
        """Register one of this node's agencies with the peer as served by this node."""
        return RegistrationOut.model_validate(
            sync.register(name, body.agency_id, actor=who.name, reason=body.reason).public())

    @r.post("/peers/{name}/unregister", openapi_extra=REGISTRY_ADMIN,
            responses=_responses(404, 422))
    def unregister_agency(name: str, body: RegistrationIn, who: Who) -> RegistrationOut:
        """Withdraw that registration (deleteAgency)."""
        return RegistrationOut.model_validate(
            sync.unregister(name, body.agency_id, actor=who.name, reason=body.reason).public())

    return r
