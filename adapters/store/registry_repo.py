"""`RegistryStore` on SQLAlchemy Core: SQLite (the embedded default) and PostgreSQL.

Plain `select`/`insert`/`update` that both dialects run the same way; no dialect-specific
upsert, so the one code path is the one the contract tests run twice. Database errors are
translated here (design.md: foreign exceptions stop at the module that calls the
library): a broken unique key is `registry.conflict`, anything else
`node.store_unavailable`.

Every write transaction ends by bumping `registry_version` (`_bump`): the snapshot every
process serves from (axis/registry/live.py) is rebuilt when that number moves.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from adapters.store import route_journal
from adapters.store.registry_tables import (
    agencies,
    agency_certificates,
    agency_credentials,
    agency_history,
    registry_version,
)
from axis import errors
from axis.clock import as_vietnam
from axis.registry.model import (
    Agency,
    AgencyChange,
    AgencyKind,
    AgencyState,
    Credential,
    DeliveryMode,
)
from axis.registry.snapshot import RegistrySnapshot

# A snapshot read that a write overlapped is read again, up to this many times; past that
# it is kept, labelled with the older version, so the next check rebuilds it anyway.
SNAPSHOT_READS = 5


def instant_to_db(at: datetime) -> str:
    """Fixed-width ISO 8601 in +07:00 (see registry_tables)."""
    return as_vietnam(at).isoformat(timespec="microseconds")


def instant_from_db(text: str) -> datetime:
    return as_vietnam(datetime.fromisoformat(text))


class SqlRegistryStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise errors.REGISTRY_CONFLICT.error(str(exc.orig)) from exc
        except (DBAPIError, SQLAlchemyError) as exc:
            raise errors.STORE_UNAVAILABLE.error(f"registry: {type(exc).__name__}") from exc

    # --- agencies ------------------------------------------------------------------------
    def _agencies(self, conn: Connection, *where: ColumnElement[bool]) -> builtins.list[Agency]:
        rows = conn.execute(select(agencies).where(*where)).mappings().all()
        certs: dict[str, set[str]] = defaultdict(set)
        query = (
            select(agency_certificates.c.agency_id, agency_certificates.c.fingerprint)
            .join(agencies, agencies.c.agency_id == agency_certificates.c.agency_id)
            .where(*where)
        )
        for agency_id, fp in conn.execute(query):
            certs[agency_id].add(fp)
        out = [_agency(r, frozenset(certs.get(r["agency_id"], ()))) for r in rows]
        # Sorted here, not by ORDER BY: PostgreSQL's collation and SQLite's byte order
        # disagree about dots and letters, and an export must be the same on both.
        return sorted(out, key=lambda a: a.agency_id)

    def get(self, agency_id: str) -> Agency | None:
        with self._tx() as conn:
            found = self._agencies(conn, agencies.c.agency_id == agency_id)
        return found[0] if found else None

    def find(self, identifier: str) -> Agency | None:
        with self._tx() as conn:
            found = self._agencies(
                conn, or_(agencies.c.agency_id == identifier, agencies.c.short_id == identifier)
            )
        # The registry keeps the two forms disjoint; should they ever meet, the routing
        # key (agency_id) wins.
        found.sort(key=lambda a: a.agency_id != identifier)
        return found[0] if found else None

    def list(
        self,
        *,
        state: AgencyState | None = None,
        kind: AgencyKind | None = None,
        parent_id: str | None = None,
    ) -> builtins.list[Agency]:
        where: builtins.list[ColumnElement[bool]] = []
        if state is not None:
            where.append(agencies.c.state == state.value)
        if kind is not None:
            where.append(agencies.c.kind == kind.value)
        if parent_id is not None:
            where.append(agencies.c.parent_id == parent_id)
        with self._tx() as conn:
            return self._agencies(conn, *where)

    def save(self, agency: Agency, change: AgencyChange) -> None:
        self.save_many([(agency, change)])

    def save_many(self, items: Sequence[tuple[Agency, AgencyChange]]) -> None:
        with self._tx() as conn:
            # Unbind first: an import may move a certificate from one agency to another,
            # and the fingerprint is a primary key.
            for agency, _ in items:
                _drop_unbound(conn, agency)
            for agency, change in items:
                _write_agency(conn, agency)
                _write_change(conn, change)
            _bump(conn)

    def history(self, agency_id: str) -> builtins.list[AgencyChange]:
        query = (
            select(agency_history)
            .where(agency_history.c.agency_id == agency_id)
            .order_by(agency_history.c.id)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AgencyChange(
                agency_id=r["agency_id"],
                at=instant_from_db(r["at"]),
                actor=r["actor"],
                reason=r["reason"],
                action=r["action"],
                before=r["before"],
                after=r["after"],
            )
            for r in rows
        ]

    def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        owner = select(agency_certificates.c.agency_id).where(
            agency_certificates.c.fingerprint == fingerprint
        )
        with self._tx() as conn:
            found = self._agencies(conn, agencies.c.agency_id.in_(owner.scalar_subquery()))
        return found[0] if found else None

    # --- credentials ---------------------------------------------------------------------
    def add_credential(self, credential: Credential, change: AgencyChange) -> None:
        with self._tx() as conn:
            conn.execute(
                insert(agency_credentials).values(
                    system_id=credential.system_id,
                    agency_id=credential.agency_id,
                    secret_hash=credential.secret_hash,
                    issued_at=instant_to_db(credential.issued_at),
                    revoked_at=(
                        instant_to_db(credential.revoked_at) if credential.revoked_at else None
                    ),
                )
            )
            _write_change(conn, change)
            _bump(conn)

    def revoke_credential(
        self, system_id: str, revoked_at: datetime, change: AgencyChange
    ) -> None:
        with self._tx() as conn:
            done = conn.execute(
                update(agency_credentials)
                .where(
                    agency_credentials.c.system_id == system_id,
                    agency_credentials.c.revoked_at.is_(None),
                )
                .values(revoked_at=instant_to_db(revoked_at))
            )
            if done.rowcount != 1:
                # Raised inside the transaction: the history line is not written either.
                raise errors.REGISTRY_CONFLICT.error(f"{system_id}: unknown or already revoked")
            _write_change(conn, change)
            _bump(conn)

    def credential(self, system_id: str) -> Credential | None:
        found = self._credentials(agency_credentials.c.system_id == system_id)
        return found[0] if found else None

    def credentials(self, agency_id: str) -> builtins.list[Credential]:
        return self._credentials(agency_credentials.c.agency_id == agency_id)

    def _credentials(self, where: ColumnElement[bool]) -> builtins.list[Credential]:
        with self._tx() as conn:
            out = _read_credentials(conn, where)
        return sorted(out, key=lambda c: (c.issued_at, c.system_id))

    # --- the snapshot ---------------------------------------------------------------------
    def version(self) -> int:
        with self._tx() as conn:
            return _version(conn)

    def snapshot(self) -> RegistrySnapshot:
        """Three reads between two reads of the version. Equal versions mean no write
        committed in between (each write bumps it in its own transaction), whatever the
        isolation level: READ COMMITTED on PostgreSQL, SQLite's statement-level reads."""
        for _ in range(SNAPSHOT_READS):
            with self._tx() as conn:
                before = _version(conn)
                agencies_now = self._agencies(conn)
                creds = _read_credentials(conn, None)
                if _version(conn) == before:
                    break
        return RegistrySnapshot.build(before, agencies_now, creds)


# Built once: it runs before every credential check (axis/registry/live.py).
_VERSION = select(registry_version.c.version).where(registry_version.c.id == 1)


def _version(conn: Connection) -> int:
    found = conn.execute(_VERSION).scalar()
    return int(found) if found is not None else 0


def _bump(conn: Connection) -> None:
    done = conn.execute(update(registry_version).where(registry_version.c.id == 1)
                        .values(version=registry_version.c.version + 1))
    if done.rowcount == 0:  # a database made from the table definitions, not migrated
        conn.execute(insert(registry_version).values(id=1, version=2))


def _read_credentials(
    conn: Connection, where: ColumnElement[bool] | None
) -> builtins.list[Credential]:
    query = select(agency_credentials)
    if where is not None:
        query = query.where(where)
    return [
        Credential(
            system_id=r["system_id"],
            agency_id=r["agency_id"],
            secret_hash=r["secret_hash"],
            issued_at=instant_from_db(r["issued_at"]),
            revoked_at=instant_from_db(r["revoked_at"]) if r["revoked_at"] else None,
        )
        for r in conn.execute(query).mappings()
    ]


def _agency(r: Any, certificates: frozenset[str]) -> Agency:
    return Agency(
        agency_id=r["agency_id"],
        short_id=r["short_id"],
        name=r["name"],
        parent_id=r["parent_id"],
        level=r["level"],
        kind=AgencyKind(r["kind"]),
        state=AgencyState(r["state"]),
        delivery_mode=DeliveryMode(r["delivery_mode"]),
        endpoint=r["endpoint"],
        contact_email=r["contact_email"],
        contact_phone=r["contact_phone"],
        certificates=certificates,
        note=r["note"],
        served_by=r["served_by"],
    )


def _write_agency(conn: Connection, a: Agency) -> None:
    values = {
        "short_id": a.short_id,
        "name": a.name,
        "parent_id": a.parent_id,
        "level": a.level,
        "kind": a.kind.value,
        "state": a.state.value,
        "delivery_mode": a.delivery_mode.value,
        "endpoint": a.endpoint,
        "contact_email": a.contact_email,
        "contact_phone": a.contact_phone,
        "note": a.note,
        "served_by": a.served_by,
    }
    exists = conn.execute(
        select(agencies.c.agency_id).where(agencies.c.agency_id == a.agency_id)
    ).first()
    if exists:
        conn.execute(update(agencies).where(agencies.c.agency_id == a.agency_id).values(values))
    else:
        conn.execute(insert(agencies).values(agency_id=a.agency_id, **values))
    for fp in sorted(a.certificates - _bound(conn, a.agency_id)):
        conn.execute(insert(agency_certificates).values(fingerprint=fp, agency_id=a.agency_id))


def _bound(conn: Connection, agency_id: str) -> set[str]:
    query = select(agency_certificates.c.fingerprint).where(
        agency_certificates.c.agency_id == agency_id
    )
    return set(conn.execute(query).scalars())


def _drop_unbound(conn: Connection, a: Agency) -> None:
    gone = _bound(conn, a.agency_id) - a.certificates
    if gone:
        conn.execute(
            delete(agency_certificates).where(
                agency_certificates.c.agency_id == a.agency_id,
                agency_certificates.c.fingerprint.in_(sorted(gone)),
            )
        )


def _write_change(conn: Connection, c: AgencyChange) -> None:
    """The history line, and the same change in the journal, in the write's own
    transaction (issue 11: registry, credential and binding changes are in the chain
    auditors verify, with actor and reason; the journal shares the node's database)."""
    route_journal.append(conn, c.at, f"registry.{c.action}", c.agency_id, {
        "actor": c.actor, "reason": c.reason, "action": c.action,
        "before": c.before, "after": c.after})
    conn.execute(
        insert(agency_history).values(
            agency_id=c.agency_id,
            at=instant_to_db(c.at),
            actor=c.actor,
            reason=c.reason,
            action=c.action,
            before=c.before,
            after=c.after,
        )
    )
