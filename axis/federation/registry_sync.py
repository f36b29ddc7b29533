"""The national axis's registry, kept in step with ours (issue 10, item 1).

A peer speaking the national axis's protocol lists the units it knows, each with the
"center" (the axis) that serves it and a version (spec vdxp.md, `getSynchronizeUnit`).
This module decides, unit by unit, what the local registry does with them:

- a unit of this node's own center is ours: never imported, never overwritten; when the
  local registry does not hold it as an internal agency, that is a conflict to show;
- a unit of another center is added as an external agency served by the peer, or its name
  and parent are updated — never a local internal agency, never an external agency that
  another peer serves (a conflict instead);
- a deleted unit retires the external agency that peer serves (kept in its history);
- one code listed twice with different centers is a conflict, and what exists is kept.

Nothing is overwritten silently: every change goes through `Registry` with the actor
`sync:<peer>` and a reason naming the version; every conflict is stored with when it was
first and last seen until a later run no longer finds it, logged with
`registry.sync_conflict` and counted in the run's `registry.sync` journal entry.

The last version seen per (peer, code) is kept: a unit whose version, center and deleted
flag are unchanged is skipped — unless a conflict on it is still open, so that a conflict
an administrator resolved locally is closed at the next run.

Registration (`registerAgency`, `deleteAgency`) goes the other way: an administrator marks
one of this node's own agencies as served by this node at the peer.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from axis import errors
from axis.clock import Clock
from axis.errors import SenderFault
from axis.federation.model import Peer
from axis.registry import codec, rules
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.registry.service import Registry

log = logging.getLogger("axis.registry.sync")

# Bounds what one journal entry carries; the table holds every conflict.
JOURNAL_CONFLICTS = 100
# The version a unit gets from a list without versions: a digest of its fields.
DIGEST = "h:"


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit as the peer lists it."""

    code: str  # the identifier (QCVN 102 form when the peer gives it)
    name: str
    center: str  # centerCode: the axis that serves it ("" when the list does not say)
    version: str  # the peer's version; for lists without one, a digest of the fields
    deleted: bool = False
    parent_code: str = ""  # the parent's code, resolved from `pid` within the same list
    mail: str = ""


class UnitSource(Protocol):
    """The peer's registry (adapters/federation/sync_setup.py)."""

    def units(self, peer: Peer) -> tuple[str, builtins.list[Unit]]:
        """(the operation that answered, its units); `peer.*` errors when none did."""
        ...


class AgencyRegistrar(Protocol):
    """Registering this node's agencies with the peer."""

    def register(self, peer: Peer, fields: dict[str, str]) -> None: ...

    def unregister(self, peer: Peer, code: str) -> None: ...


class ConflictKind(str, Enum):
    CLAIMED_TWICE = "claimed_twice"  # one code, two centers in the same list
    INTERNAL = "internal"  # another center claims an agency this node serves
    OTHER_PEER = "other_peer"  # an external agency served here by a different peer
    OURS_UNKNOWN = "ours_unknown"  # our center serves it, our registry does not know it
    RETIRED = "retired"  # listed alive, but retired here (retirement is final)
    REFUSED = "refused"  # the registry refused the unit (identifier, fields, parent)


@dataclass(frozen=True, slots=True)
class Conflict:
    peer: str
    code: str
    kind: ConflictKind
    detail: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None

    def public(self) -> dict[str, object]:
        return {"peer": self.peer, "code": self.code, "kind": self.kind.value,
                "detail": self.detail, "first_seen": self.first_seen.isoformat(),
                "last_seen": self.last_seen.isoformat(),
                "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None}


class Outcome(str, Enum):
    ADDED = "added"
    UPDATED = "updated"
    RETIRED = "retired"
    UNCHANGED = "unchanged"
    OURS = "ours"
    IGNORED = "ignored"  # nothing to do here (deleted and unknown, another peer's …)
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class SeenUnit:
    """The last version of a unit seen from a peer, and what the sync did with it."""

    peer: str
    code: str
    name: str
    center: str
    version: str
    deleted: bool
    synced_at: datetime
    outcome: Outcome

    def public(self) -> dict[str, object]:
        return {"peer": self.peer, "code": self.code, "name": self.name,
                "center": self.center, "version": self.version, "deleted": self.deleted,
                "synced_at": self.synced_at.isoformat(), "outcome": self.outcome.value}


class RegistrationState(str, Enum):
    REGISTERED = "registered"
    UNREGISTERED = "unregistered"


@dataclass(frozen=True, slots=True)
class Registration:
    """Whether one of this node's agencies is registered with a peer as served by us."""

    peer: str
    agency_id: str
    state: RegistrationState
    at: datetime
    actor: str
    reason: str

    def public(self) -> dict[str, object]:
        return {"peer": self.peer, "agency_id": self.agency_id, "state": self.state.value,
                "at": self.at.isoformat(), "actor": self.actor, "reason": self.reason}


class SyncStore(Protocol):
    """The sync's memory (adapters/store/sync_repo.py)."""

    def seen(self, peer: str) -> dict[str, SeenUnit]: ...

    def record_seen(self, rows: Sequence[SeenUnit]) -> None: ...

    def conflicts(self, peer: str, *, open_only: bool = True) -> builtins.list[Conflict]: ...

    def record_conflicts(self, peer: str, found: Sequence[Conflict],
                         at: datetime) -> builtins.list[Conflict]:
        """Open or refresh `found` (keeping first_seen); resolve the peer's other open
        conflicts at `at`; the conflicts that were not open before."""
        ...

    def registration(self, peer: str, agency_id: str) -> Registration | None: ...

    def record_registration(self, registration: Registration) -> None: ...

    def registrations(self, peer: str) -> builtins.list[Registration]: ...


@dataclass(frozen=True, slots=True)
class SyncReport:
    peer: str
    operation: str  # getSynchronizeUnit, getAgenciesListQD20, getAgenciesList
    at: datetime
    listed: int = 0
    added: int = 0
    updated: int = 0
    retired: int = 0
    unchanged: int = 0
    ours: int = 0
    ignored: int = 0
    conflicts: tuple[Conflict, ...] = ()  # open after this run
    new_conflicts: int = 0

    def counts(self) -> dict[str, int]:
        return {"listed": self.listed, "added": self.added, "updated": self.updated,
                "retired": self.retired, "unchanged": self.unchanged, "ours": self.ours,
                "ignored": self.ignored, "conflicts": len(self.conflicts),
                "new_conflicts": self.new_conflicts}

    def public(self) -> dict[str, object]:
        return {"peer": self.peer, "operation": self.operation, "at": self.at.isoformat(),
                **self.counts(), "open_conflicts": [c.public() for c in self.conflicts]}


Journal = Callable[[datetime, str, str, dict[str, object]], None]
PeerLookup = Callable[[str], Peer | None]


class RegistrySync:
    def __init__(self, *, registry: Registry, source: UnitSource, registrar: AgencyRegistrar,
                 store: SyncStore, peers: PeerLookup, journal: Journal, clock: Clock,
                 own_centers: Iterable[str]) -> None:
        self._registry = registry
        self._source = source
        self._registrar = registrar
        self._store = store
        self._peers = peers
        self._journal = journal
        self._clock = clock
        self._own = frozenset(c.strip().upper() for c in own_centers if c.strip())

    def peer(self, name: str) -> Peer:
        peer = self._peers(name)
        if peer is None:
            raise errors.PEER_UNKNOWN.error(repr(name))
        return peer

    # --- reading ---------------------------------------------------------------------
    def units(self, name: str) -> builtins.list[SeenUnit]:
        self.peer(name)
        return sorted(self._store.seen(name).values(), key=lambda u: u.code)

    def conflicts(self, name: str, *, open_only: bool = True) -> builtins.list[Conflict]:
        self.peer(name)
        return self._store.conflicts(name, open_only=open_only)

    def registrations(self, name: str) -> builtins.list[Registration]:
        self.peer(name)
        return self._store.registrations(name)

    # --- the sync --------------------------------------------------------------------
    def sync(self, name: str) -> SyncReport:
        """Read the peer's units once and bring the registry in step (module docstring).
        A peer that cannot be read raises its `peer.*` error and changes nothing."""
        peer = self.peer(name)
        operation, listed = self._source.units(peer)
        at = self._clock.now()
        run = _Run(self._registry, self._own, peer, at)
        by_code: dict[str, builtins.list[Unit]] = {}
        for unit in listed:
            if unit.code:
                by_code.setdefault(unit.code, []).append(unit)
        previous = self._store.seen(peer.name)
        open_before = {c.code for c in self._store.conflicts(peer.name)}
        singles: builtins.list[Unit] = []
        for code, units in by_code.items():
            centers = sorted({u.center for u in units})
            if len(centers) > 1:
                run.conflict(code, ConflictKind.CLAIMED_TWICE,
                             f"listed {len(units)} times, by centers {', '.join(centers)}: "
                             "the registry keeps what it has")
                continue
            # The same unit twice from one center: the newest version stands.
            singles.append(max(units, key=lambda u: _version_key(u.version)))
        for unit in _parents_first(singles):
            before = previous.get(unit.code)
            if (before is not None and unit.code not in open_before
                    and (before.version, before.center, before.deleted)
                    == (unit.version, unit.center, unit.deleted)):
                run.unchanged += 1
                continue
            run.apply(unit)
        run.write()
        self._store.record_seen(run.seen)
        new = self._store.record_conflicts(peer.name, run.found, at)
        for c in new:
            log.warning("%s: peer %s, unit %s, %s: %s", errors.REGISTRY_SYNC_CONFLICT.id,
                        c.peer, c.code, c.kind.value, c.detail)
        still_open = self._store.conflicts(peer.name)
        report = SyncReport(peer.name, operation, at, listed=len(listed),
                            conflicts=tuple(still_open), new_conflicts=len(new),
                            **run.counts)
        self._journal(at, "registry.sync", peer.name, {
            "operation": operation, **report.counts(),
            "conflicts_found": [{"code": c.code, "kind": c.kind.value}
                                for c in run.found[:JOURNAL_CONFLICTS]]})
        return report

    # --- registration with the peer --------------------------------------------------
    def register(self, name: str, agency_id: str, *, actor: str,
                 reason: str) -> Registration:
        """Tell the peer that this node serves one of its own agencies (`registerAgency`:
        pcode is this node's system id at the peer)."""
        peer, agency = self._own_agency(name, agency_id, actor, reason)
        self._registrar.register(peer, {
            "id": "", "pcode": peer.system_id, "code": agency.agency_id,
            "name": agency.name, "mail": agency.contact_email,
            "mobile": agency.contact_phone, "fax": ""})
        return self._registered(peer, agency, RegistrationState.REGISTERED, actor, reason)

    def unregister(self, name: str, agency_id: str, *, actor: str,
                   reason: str) -> Registration:
        """Withdraw it (`deleteAgency`)."""
        peer, agency = self._own_agency(name, agency_id, actor, reason,
                                        retired_ok=True)
        self._registrar.unregister(peer, agency.agency_id)
        return self._registered(peer, agency, RegistrationState.UNREGISTERED, actor, reason)

    def _own_agency(self, name: str, agency_id: str, actor: str, reason: str, *,
                    retired_ok: bool = False) -> tuple[Peer, Agency]:
        if not actor.strip() or not reason.strip():
            raise errors.REGISTRY_REASON_MISSING.error("actor and reason are required")
        peer = self.peer(name)
        agency = self._registry.resolve(agency_id)
        if agency.kind is not AgencyKind.INTERNAL:
            raise errors.PEER_INVALID.error(
                f"{agency.agency_id} is not served by this node: only this node's own "
                "agencies are registered with a peer")
        if agency.state is AgencyState.RETIRED and not retired_ok:
            raise errors.PEER_INVALID.error(f"{agency.agency_id} is retired")
        return peer, agency

    def _registered(self, peer: Peer, agency: Agency, state: RegistrationState,
                    actor: str, reason: str) -> Registration:
        reg = Registration(peer.name, agency.agency_id, state, self._clock.now(),
                           actor.strip(), reason.strip())
        self._store.record_registration(reg)
        kind = ("registry.register" if state is RegistrationState.REGISTERED
                else "registry.unregister")
        self._journal(reg.at, kind, agency.agency_id, {**reg.public()})
        return reg


@dataclass(frozen=True, slots=True)
class _Write:
    """An addition or update, written with others of the same depth and reason."""

    code: str
    agency_id: str
    fields: dict[str, object]
    depth: int  # 0, or one more than a parent written in the same run
    reason: str


class _Run:
    """One sync run's decisions, unit by unit; additions and updates are written at the
    end, in batches (`Registry.import_rows`: one consistency check per batch instead of
    one per agency, which a national registry of thousands of units needs)."""

    def __init__(self, registry: Registry, own: frozenset[str], peer: Peer,
                 at: datetime) -> None:
        self._registry = registry
        self._own = own
        self._peer = peer
        self._at = at
        # Read from the store, not the registry's snapshot (which may be a little old):
        # an update built on a stale entry could undo another process's change. Kept
        # current with this run's own decisions (a child added after its parent).
        self._world: dict[str, Agency] = {}
        for agency in registry.export():
            self._keep(agency)
        self.actor = f"sync:{peer.name}"
        self._seen: dict[str, SeenUnit] = {}
        self._writes: builtins.list[_Write] = []
        self._depth: dict[str, int] = {}
        self.found: builtins.list[Conflict] = []
        self.unchanged = 0

    @property
    def seen(self) -> builtins.list[SeenUnit]:
        return builtins.list(self._seen.values())

    @property
    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in (Outcome.ADDED, Outcome.UPDATED, Outcome.RETIRED,
                                    Outcome.OURS, Outcome.IGNORED)}
        for u in self._seen.values():
            if u.outcome.value in out:
                out[u.outcome.value] += 1
        # Units whose version did not move, and planned updates that changed nothing.
        out["unchanged"] = self.unchanged + sum(
            1 for u in self._seen.values() if u.outcome is Outcome.UNCHANGED)
        return out

    def conflict(self, code: str, kind: ConflictKind, detail: str) -> Outcome:
        self.found.append(Conflict(self._peer.name, code, kind, detail[:2000], self._at,
                                   self._at))
        return Outcome.CONFLICT

    def apply(self, unit: Unit) -> None:
        try:
            outcome = self._decide(unit)
        except SenderFault as exc:  # the registry refused what the peer lists; a node
            # fault (the database down) fails the run instead, which is then repeated
            outcome = self._refused(unit.code, f"{exc.code.id}: {exc.detail}")
        self._seen[unit.code] = SeenUnit(self._peer.name, unit.code, unit.name, unit.center,
                                         unit.version, unit.deleted, self._at, outcome)

    def _refused(self, code: str, detail: str) -> Outcome:
        return self.conflict(code, ConflictKind.REFUSED, detail)

    def _keep(self, agency: Agency) -> Agency:
        self._world[agency.agency_id] = agency
        self._world.setdefault(agency.short_id, agency)
        return agency

    def _find(self, code: str) -> Agency | None:
        found = self._world.get(code)
        # By either identifier form, as the registry finds it; the entry as last kept.
        return self._world.get(found.agency_id) if found is not None else None

    def _reason(self, verb: str, unit: Unit) -> str:
        if unit.version.startswith(DIGEST):
            return f"{verb} in the {self._peer.name} registry (a list without versions)"
        return f"{verb} in the {self._peer.name} registry, version {unit.version}"

    def _plan(self, unit: Unit, agency: Agency, fields: dict[str, object],
              verb: str) -> None:
        # Checked alone now (identifier, name …: raises, and the unit is a conflict), so
        # that a batch is refused only for what needs the whole registry to see.
        agency = rules.check_entry(agency, province=self._registry.province)
        depth = self._depth.get(agency.parent_id or "", -1) + 1
        self._depth[agency.agency_id] = depth
        self._writes.append(_Write(unit.code, agency.agency_id,
                                   {"agency_id": agency.agency_id, **fields}, depth,
                                   self._reason(verb, unit)))
        self._keep(agency)

    def _decide(self, unit: Unit) -> Outcome:
        local = self._find(unit.code)
        peer = self._peer.name
        if self._ours(unit):
            if unit.deleted or (local is not None and local.kind is AgencyKind.INTERNAL):
                return Outcome.OURS
            here = ("not in the registry" if local is None
                    else f"registered here as external, served by {local.peer}")
            return self.conflict(unit.code, ConflictKind.OURS_UNKNOWN,
                                 f"center {unit.center or '?'} (this node) serves it at "
                                 f"{peer}, but it is {here}")
        if unit.deleted:
            if (local is None or local.kind is AgencyKind.INTERNAL or local.peer != peer
                    or local.state is AgencyState.RETIRED):
                return Outcome.IGNORED  # never an internal one, never another peer's
            self._keep(self._registry.retire(local.agency_id, actor=self.actor,
                                             reason=self._reason("deleted", unit)))
            return Outcome.RETIRED
        if local is None:
            note = f"from the {peer} registry (center {unit.center or '?'})"
            added = Agency(agency_id=unit.code, short_id="",
                           name=unit.name or unit.code, parent_id=self._parent(unit),
                           kind=AgencyKind.EXTERNAL, served_by=peer, note=note)
            self._plan(unit, added, {"short_id": "", "name": added.name,
                                     "parent_id": added.parent_id, "kind": "external",
                                     "served_by": peer, "note": note}, "listed")
            return Outcome.ADDED
        if local.kind is AgencyKind.INTERNAL:
            return self.conflict(unit.code, ConflictKind.INTERNAL,
                                 f"center {unit.center or '?'} claims it at {peer}, but "
                                 "this node serves it: kept as it is")
        if local.peer != peer:
            return self.conflict(unit.code, ConflictKind.OTHER_PEER,
                                 f"served here by peer {local.peer}; center "
                                 f"{unit.center or '?'} at {peer}: kept as it is")
        if local.state is AgencyState.RETIRED:
            return self.conflict(unit.code, ConflictKind.RETIRED,
                                 f"listed again at {peer} (version {unit.version}) but "
                                 "retired here (final)")
        # served_by made explicit: an external agency with none was the national axis's.
        after = dataclasses.replace(local, name=unit.name or local.name, served_by=peer,
                                    parent_id=self._parent(unit) or local.parent_id)
        if after == local:
            return Outcome.UNCHANGED
        self._plan(unit, after, {"name": after.name, "served_by": peer,
                                 "parent_id": after.parent_id}, "changed")
        return Outcome.UPDATED

    def write(self) -> None:
        """The planned additions and updates, parents' batches first. A batch the registry
        refuses is written row by row, and each row it refuses becomes a conflict."""
        groups: dict[tuple[int, str], builtins.list[_Write]] = {}
        for w in self._writes:
            groups.setdefault((w.depth, w.reason), []).append(w)
        for (_, reason), writes in sorted(groups.items()):
            try:
                self._import(writes, reason)
                continue
            except SenderFault as exc:
                # The rows it names are refused; the others are tried again together.
                named = {f.path: f for f in exc.findings if f.path}
                for w in writes:
                    if w.code in named:
                        self._refuse_write(w, f"{named[w.code].code.id}: "
                                              f"{named[w.code].detail}")
                rest = [w for w in writes if w.code not in named]
            if not rest or len(rest) == len(writes):
                rest_alone = rest  # nothing named: find the culprits one by one
            else:
                try:
                    self._import(rest, reason)
                    continue
                except SenderFault:
                    rest_alone = rest
            for w in rest_alone:
                try:
                    self._import([w], reason)
                except SenderFault as alone:
                    detail = "; ".join(f.detail for f in alone.findings) or alone.detail
                    self._refuse_write(w, f"{alone.code.id}: {detail}")

    def _refuse_write(self, w: _Write, detail: str) -> None:
        outcome = self._refused(w.code, detail)
        self._seen[w.code] = dataclasses.replace(self._seen[w.code], outcome=outcome)

    def _import(self, writes: Sequence[_Write], reason: str) -> None:
        self._registry.import_rows([codec.Row(w.code, w.fields) for w in writes],
                                   actor=self.actor, reason=reason)

    def _ours(self, unit: Unit) -> bool:
        if unit.center:
            return unit.center.upper() in self._own
        # A list without centers (getAgenciesList): our province's identifiers are ours.
        return any(unit.code.upper().endswith("." + c) for c in self._own)

    def _parent(self, unit: Unit) -> str | None:
        """The parent's agency id when the registry holds it alive; None otherwise (a
        parent the registry does not know is left out, not invented)."""
        if not unit.parent_code:
            return None
        parent = self._find(unit.parent_code)
        if parent is None or parent.state is AgencyState.RETIRED:
            return None
        return parent.agency_id


def _version_key(version: str) -> tuple[int, int, str]:
    return (1, int(version), "") if version.isdigit() else (0, 0, version)


def _parents_first(units: Sequence[Unit]) -> builtins.list[Unit]:
    """Parents before their children (a child's parent must exist when it is added)."""
    by_code = {u.code: u for u in units}
    done: set[str] = set()
    out: builtins.list[Unit] = []

    def visit(u: Unit, trail: frozenset[str]) -> None:
        if u.code in done:
            return
        parent = by_code.get(u.parent_code)
        if parent is not None and parent.code not in trail:
            visit(parent, trail | {u.code})
        done.add(u.code)
        out.append(u)

    for u in units:
        visit(u, frozenset({u.code}))
    return out
