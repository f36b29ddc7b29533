"""`PeerStore` (axis/federation/ports.py) on the `peers` and `peer_inbound` tables."""

from __future__ import annotations

import builtins
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from adapters.store.db import transaction
from adapters.store.peer_tables import peer_inbound, peers
from axis import errors
from axis.federation.model import Outcome, Peer, PeerKind, Taken


class SqlPeerStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _tx(self) -> AbstractContextManager[Connection]:
        return transaction(self._engine, "peers", conflict=errors.PEER_INVALID)

    # --- peers -----------------------------------------------------------------------
    def add(self, peer: Peer) -> None:
        with self._tx() as conn:
            conn.execute(insert(peers).values(name=peer.name, **_values(peer)))

    def update(self, peer: Peer) -> None:
        with self._tx() as conn:
            conn.execute(update(peers).where(peers.c.name == peer.name)
                         .values(**_values(peer)))

    def get(self, name: str) -> Peer | None:
        with self._tx() as conn:
            row = conn.execute(select(peers).where(peers.c.name == name)).mappings().first()
        return _peer(row) if row is not None else None

    def list(self) -> builtins.list[Peer]:
        with self._tx() as conn:
            rows = conn.execute(select(peers)).mappings().all()
        return sorted((_peer(r) for r in rows), key=lambda p: p.name)

    def succeeded(self, name: str, at: datetime) -> None:
        with self._tx() as conn:
            conn.execute(update(peers).where(peers.c.name == name).values(
                last_success_at=at, failing_since=None))

    def failed(self, name: str, at: datetime, error: str) -> None:
        with self._tx() as conn:
            conn.execute(update(peers).where(peers.c.name == name).values(
                last_failure_at=at, last_error=error[:500]))
            conn.execute(update(peers).where(peers.c.name == name,
                                             peers.c.failing_since.is_(None))
                         .values(failing_since=at))

    # --- what was taken from peers -------------------------------------------------------
    def taken(self, peer: str, doc_id: str) -> Taken | None:
        with self._tx() as conn:
            row = conn.execute(select(peer_inbound).where(
                peer_inbound.c.peer == peer, peer_inbound.c.peer_doc_id == doc_id)
            ).mappings().first()
        if row is None:
            return None
        return Taken(row["peer"], row["peer_doc_id"], row["message_type"], row["at"],
                     row["sha256"], Outcome(row["outcome"]), row["code"],
                     row["acknowledged"])

    def record_taken(self, taken: Taken) -> None:
        values = {"message_type": taken.message_type, "at": taken.at,
                  "sha256": taken.sha256, "outcome": taken.outcome.value,
                  "code": taken.code, "acknowledged": taken.acknowledged}
        where = (peer_inbound.c.peer == taken.peer,
                 peer_inbound.c.peer_doc_id == taken.doc_id)
        with self._tx() as conn:
            done = conn.execute(update(peer_inbound).where(*where).values(**values))
            if done.rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(peer_inbound).values(
                            peer=taken.peer, peer_doc_id=taken.doc_id, **values))
                except IntegrityError:  # another worker polled the same item meanwhile
                    conn.execute(update(peer_inbound).where(*where).values(**values))


def _values(p: Peer) -> dict[str, Any]:
    return {
        "kind": p.kind.value, "endpoint": p.endpoint, "system_id": p.system_id,
        "secret_file": p.secret_file, "admit_unsigned": list(p.admit_unsigned),
        "node_certificates": list(p.node_certificates), "provinces": list(p.provinces),
        "unreachable_after_s": p.unreachable_after_s, "active": int(p.active),
        "note": p.note, "added_at": p.added_at, "last_success_at": p.last_success_at,
        "last_failure_at": p.last_failure_at, "failing_since": p.failing_since,
        "last_error": p.last_error,
    }


def _peer(r: Any) -> Peer:
    return Peer(
        name=r["name"], kind=PeerKind(r["kind"]), endpoint=r["endpoint"],
        system_id=r["system_id"], secret_file=r["secret_file"], added_at=r["added_at"],
        admit_unsigned=tuple(r["admit_unsigned"] or ()),
        node_certificates=tuple(r["node_certificates"] or ()),
        provinces=tuple(r["provinces"] or ()),
        unreachable_after_s=r["unreachable_after_s"], active=bool(r["active"]),
        note=r["note"], last_success_at=r["last_success_at"],
        last_failure_at=r["last_failure_at"], failing_since=r["failing_since"],
        last_error=r["last_error"],
    )
