"""`SyncStore` (axis/federation/registry_sync.py) on the sync tables
(adapters/store/sync_tables.py)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from adapters.store.db import transaction
from adapters.store.sync_tables import (
    peer_registrations,
    registry_sync_conflicts,
    registry_sync_units,
)
from axis import errors
from axis.federation.registry_sync import (
    Conflict,
    ConflictKind,
    Outcome,
    Registration,
    RegistrationState,
    SeenUnit,
)

_c = registry_sync_conflicts.c


class SqlSyncStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _tx(self) -> AbstractContextManager[Connection]:
        return transaction(self._engine, "registry sync", conflict=errors.STORE_UNAVAILABLE)

    # --- units -----------------------------------------------------------------------
    def seen(self, peer: str) -> dict[str, SeenUnit]:
        t = registry_sync_units
        with self._tx() as conn:
            rows = conn.execute(select(t).where(t.c.peer == peer)).mappings().all()
        return {r["code"]: SeenUnit(r["peer"], r["code"], r["name"], r["center"],
                                    r["version"], bool(r["deleted"]), r["synced_at"],
                                    Outcome(r["outcome"])) for r in rows}

    def record_seen(self, rows: Sequence[SeenUnit]) -> None:
        if not rows:
            return
        t = registry_sync_units
        # Delete then insert in one transaction: the same on SQLite and PostgreSQL, and
        # two workers syncing at once leave one of their answers, whole.
        with self._tx() as conn:
            for peer in {r.peer for r in rows}:
                codes = [r.code for r in rows if r.peer == peer]
                for i in range(0, len(codes), 500):
                    conn.execute(delete(t).where(t.c.peer == peer,
                                                 t.c.code.in_(codes[i:i + 500])))
            conn.execute(insert(t), [
                {"peer": r.peer, "code": r.code, "name": r.name[:500],
                 "center": r.center[:32], "version": r.version[:64],
                 "deleted": int(r.deleted), "synced_at": r.synced_at,
                 "outcome": r.outcome.value} for r in rows])

    # --- conflicts -------------------------------------------------------------------
    def conflicts(self, peer: str, *, open_only: bool = True) -> builtins.list[Conflict]:
        query = select(registry_sync_conflicts).where(_c.peer == peer)
        if open_only:
            query = query.where(_c.resolved_at.is_(None))
        with self._tx() as conn:
            rows = conn.execute(query.order_by(_c.code, _c.kind)).mappings().all()
        return [_conflict(r) for r in rows]

    def record_conflicts(self, peer: str, found: Sequence[Conflict],
                         at: datetime) -> builtins.list[Conflict]:
        new: builtins.list[Conflict] = []
        keys = {(c.code, c.kind.value) for c in found}
        with self._tx() as conn:
            existing = {(r["code"], r["kind"]): r for r in conn.execute(
                select(registry_sync_conflicts).where(_c.peer == peer)).mappings().all()}
            for c in found:
                row = existing.get((c.code, c.kind.value))
                if row is None:
                    conn.execute(insert(registry_sync_conflicts).values(
                        peer=peer, code=c.code, kind=c.kind.value, detail=c.detail,
                        first_seen=c.first_seen, last_seen=c.last_seen, resolved_at=None))
                    new.append(c)
                    continue
                where = (_c.peer == peer, _c.code == c.code, _c.kind == c.kind.value)
                reopened = row["resolved_at"] is not None
                conn.execute(update(registry_sync_conflicts).where(*where).values(
                    detail=c.detail, last_seen=c.last_seen, resolved_at=None,
                    # A conflict that comes back after it was resolved is a new one.
                    **({"first_seen": c.first_seen} if reopened else {})))
                if reopened:
                    new.append(c)
            for (code, kind), row in existing.items():
                if (code, kind) not in keys and row["resolved_at"] is None:
                    conn.execute(update(registry_sync_conflicts).where(
                        _c.peer == peer, _c.code == code, _c.kind == kind
                    ).values(resolved_at=at))
        return new

    # --- registrations ---------------------------------------------------------------
    def registration(self, peer: str, agency_id: str) -> Registration | None:
        t = peer_registrations
        with self._tx() as conn:
            row = conn.execute(select(t).where(t.c.peer == peer, t.c.agency_id == agency_id)
                               ).mappings().first()
        return _registration(row) if row is not None else None

    def record_registration(self, registration: Registration) -> None:
        t = peer_registrations
        r = registration
        with self._tx() as conn:
            conn.execute(delete(t).where(t.c.peer == r.peer, t.c.agency_id == r.agency_id))
            conn.execute(insert(t).values(peer=r.peer, agency_id=r.agency_id,
                                          state=r.state.value, at=r.at, actor=r.actor,
                                          reason=r.reason))

    def registrations(self, peer: str) -> builtins.list[Registration]:
        t = peer_registrations
        with self._tx() as conn:
            rows = conn.execute(select(t).where(t.c.peer == peer).order_by(t.c.agency_id)
                                ).mappings().all()
        return [_registration(r) for r in rows]


def _conflict(r: Any) -> Conflict:
    return Conflict(r["peer"], r["code"], ConflictKind(r["kind"]), r["detail"],
                    r["first_seen"], r["last_seen"], r["resolved_at"])


def _registration(r: Any) -> Registration:
    return Registration(r["peer"], r["agency_id"], RegistrationState(r["state"]), r["at"],
                        r["actor"], r["reason"])
