"""The registry snapshots held from Axis peers, on `peer_snapshots`
(adapters/store/snapshot_tables.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from adapters.store.db import transaction
from adapters.store.snapshot_tables import peer_snapshots
from axis.federation.snapshot import HeldSnapshot

_t = peer_snapshots


class SqlSnapshotStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _tx(self) -> AbstractContextManager[Connection]:
        return transaction(self._engine, "peer snapshots")

    def held(self, peer: str) -> HeldSnapshot | None:
        with self._tx() as conn:
            row = conn.execute(select(_t).where(_t.c.peer == peer)).mappings().first()
        if row is None:
            return None
        return HeldSnapshot(row["peer"], int(row["version"]), row["sha256"], row["signer"],
                            row["issued_at"], row["received_at"], int(row["agencies"]))

    def record(self, held: HeldSnapshot) -> bool:
        """Keep `held` when it is newer than what is held (two processes pulling at once:
        the newer one stays); whether it was kept."""
        values = {"version": held.version, "sha256": held.sha256, "signer": held.signer,
                  "issued_at": held.issued_at, "received_at": held.received_at,
                  "agencies": held.agencies}
        with self._tx() as conn:
            done = conn.execute(update(_t).where(_t.c.peer == held.peer,
                                                 _t.c.version < held.version)
                                .values(**values)).rowcount
            if done:
                return True
            if conn.execute(select(_t.c.peer).where(_t.c.peer == held.peer)).first():
                return False
        try:
            with self._tx() as conn:
                conn.execute(insert(_t).values(peer=held.peer, **values))
        except IntegrityError:
            return False  # another process recorded one first
        return True
