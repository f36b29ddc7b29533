"""The simulator's durable state: one SQLite file under the data directory.

Every change is one transaction committed before the answer is written, so a simulator
killed with SIGKILL and restarted keeps every stored package, listed item, acknowledgement
and registry change. One connection guarded by a lock: the simulator is a test party, not a
throughput target.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.vdxp_sim.config import UnitConfig

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL UNIQUE,
    sender_system TEXT NOT NULL,
    from_code TEXT NOT NULL,
    messagetype TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    title TEXT NOT NULL,
    notation TEXT NOT NULL,
    sent_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS packages_dedupe ON packages (sender_system, messagetype, sha256);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver_doc_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES packages (doc_id),
    to_code TEXT NOT NULL,
    system_id TEXT,
    status TEXT NOT NULL,
    status_desc TEXT NOT NULL,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    received_time TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_inbox ON deliveries (system_id, status);
CREATE TABLE IF NOT EXISTS units (
    code TEXT PRIMARY KEY,
    id INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    name TEXT NOT NULL,
    mail TEXT NOT NULL,
    mobile TEXT NOT NULL DEFAULT '',
    fax TEXT NOT NULL DEFAULT '',
    center_code TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    modify_date TEXT NOT NULL,
    is_agency INTEGER NOT NULL,
    old_code TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    system_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    error_code TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Package:
    doc_id: str
    sender_system: str
    from_code: str
    messagetype: str
    sha256: str
    body: bytes
    title: str
    notation: str
    sent_time: str


@dataclass(frozen=True)
class Delivery:
    receiver_doc_id: str
    doc_id: str
    to_code: str
    system_id: str | None
    status: str
    status_desc: str
    created_time: str
    updated_time: str
    received_time: str


@dataclass(frozen=True)
class Unit:
    code: str
    id: int
    pid: int
    name: str
    mail: str
    mobile: str
    fax: str
    center_code: str
    version: int
    deleted: bool
    modify_date: str
    is_agency: bool
    old_code: str


_PACKAGE_COLS = "doc_id, sender_system, from_code, messagetype, sha256, body, title, " \
    "notation, sent_time"
_DELIVERY_COLS = "receiver_doc_id, doc_id, to_code, system_id, status, status_desc, " \
    "created_time, updated_time, received_time"
_UNIT_COLS = "code, id, pid, name, mail, mobile, fax, center_code, version, deleted, " \
    "modify_date, is_agency, old_code"


def _package(row: Sequence[Any]) -> Package:
    return Package(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), row[6], row[7],
                   row[8])


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(*row)


def _unit(row: Sequence[Any]) -> Unit:
    return Unit(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                bool(row[9]), row[10], bool(row[11]), row[12])


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the answer leaves (kill -9 and power loss alike).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- seed -----------------------------------------------------------------------------

    def seed_units(self, units: Sequence[UnitConfig], now: str) -> None:
        with self.tx() as db:
            for u in units:
                db.execute(
                    f"INSERT OR IGNORE INTO units ({_UNIT_COLS}) "
                    "VALUES (?, ?, ?, ?, ?, '', '', ?, ?, ?, ?, ?, ?)",
                    (u.code, u.id, u.pid, u.name, u.mail, u.center_code, u.version,
                     int(u.deleted), u.modify_date or now, int(u.is_agency), u.old_code),
                )

    # -- packages and deliveries ----------------------------------------------------------

    def find_duplicate(self, sender_system: str, messagetype: str, sha256: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc_id FROM packages WHERE sender_system = ? AND messagetype = ? "
                "AND sha256 = ? ORDER BY seq LIMIT 1",
                (sender_system, messagetype, sha256),
            ).fetchone()
        return None if row is None else str(row[0])

    def add_package(self, package: Package, deliveries: Sequence[Delivery]) -> None:
        with self.tx() as db:
            db.execute(
                f"INSERT INTO packages ({_PACKAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (package.doc_id, package.sender_system, package.from_code,
                 package.messagetype, package.sha256, package.body, package.title,
                 package.notation, package.sent_time),
            )
            for d in deliveries:
                db.execute(
                    f"INSERT INTO deliveries ({_DELIVERY_COLS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (d.receiver_doc_id, d.doc_id, d.to_code, d.system_id, d.status,
                     d.status_desc, d.created_time, d.updated_time, d.received_time),
                )

    def package(self, doc_id: str) -> Package | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_PACKAGE_COLS} FROM packages WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else _package(row)

    def delivery(self, receiver_doc_id: str) -> Delivery | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE receiver_doc_id = ?",
                (receiver_doc_id,),
            ).fetchone()
        return None if row is None else _delivery(row)

    def inbox(self, system_id: str, messagetype: str | None) -> list[tuple[Delivery, Package]]:
        """What waits for a system: every delivery to it not acknowledged `done`."""
        sql = (
            f"SELECT {', '.join('d.' + c.strip() for c in _DELIVERY_COLS.split(','))}, "
            f"{', '.join('p.' + c.strip() for c in _PACKAGE_COLS.split(','))} "
            "FROM deliveries d JOIN packages p ON p.doc_id = d.doc_id "
            "WHERE d.system_id = ? AND d.status != 'done'"
        )
        args: tuple[str, ...] = (system_id,)
        if messagetype is not None:
            sql += " AND p.messagetype = ?"
            args += (messagetype,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY d.seq", args).fetchall()
        return [(_delivery(r[:9]), _package(r[9:])) for r in rows]

    def sent(self, system_id: str) -> list[tuple[Delivery, Package]]:
        sql = (
            f"SELECT {', '.join('d.' + c.strip() for c in _DELIVERY_COLS.split(','))}, "
            f"{', '.join('p.' + c.strip() for c in _PACKAGE_COLS.split(','))} "
            "FROM deliveries d JOIN packages p ON p.doc_id = d.doc_id "
            "WHERE p.sender_system = ? ORDER BY d.seq"
        )
        with self._lock:
            rows = self._db.execute(sql, (system_id,)).fetchall()
        return [(_delivery(r[:9]), _package(r[9:])) for r in rows]

    def set_status(self, receiver_doc_id: str, status: str, desc: str, now: str) -> None:
        with self.tx() as db:
            received = now if status == "done" else ""
            db.execute(
                "UPDATE deliveries SET status = ?, status_desc = ?, updated_time = ?, "
                "received_time = CASE WHEN ? != '' THEN ? ELSE received_time END "
                "WHERE receiver_doc_id = ?",
                (status, desc, now, received, received, receiver_doc_id),
            )

    # -- units ----------------------------------------------------------------------------

    def units(self) -> list[Unit]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_UNIT_COLS} FROM units ORDER BY id, code")
            return [_unit(r) for r in rows.fetchall()]

    def unit(self, code: str) -> Unit | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_UNIT_COLS} FROM units WHERE code = ?", (code,)
            ).fetchone()
        return None if row is None else _unit(row)

    def put_unit(self, unit: Unit) -> None:
        with self.tx() as db:
            db.execute(
                f"INSERT OR REPLACE INTO units ({_UNIT_COLS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (unit.code, unit.id, unit.pid, unit.name, unit.mail, unit.mobile, unit.fax,
                 unit.center_code, unit.version, int(unit.deleted), unit.modify_date,
                 int(unit.is_agency), unit.old_code),
            )

    def next_unit_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM units").fetchone()
        return int(row[0])

    # -- journal and state ----------------------------------------------------------------

    def journal(self, at: str, system_id: str, operation: str, error_code: str) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO calls (at, system_id, operation, error_code) VALUES (?, ?, ?, ?)",
                (at, system_id, operation, error_code),
            )

    def state(self) -> dict[str, Any]:
        with self._lock:
            packages = self._db.execute("SELECT COUNT(*) FROM packages").fetchone()[0]
            listed: dict[str, dict[str, int]] = {}
            for system_id, mtype, n in self._db.execute(
                "SELECT d.system_id, p.messagetype, COUNT(*) FROM deliveries d "
                "JOIN packages p ON p.doc_id = d.doc_id "
                "WHERE d.system_id IS NOT NULL AND d.status != 'done' "
                "GROUP BY d.system_id, p.messagetype"
            ).fetchall():
                listed.setdefault(system_id, {"edoc": 0, "status": 0})[mtype] = n
            deliveries = self._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
            undeliverable = self._db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE system_id IS NULL"
            ).fetchone()[0]
            done = self._db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE status = 'done'"
            ).fetchone()[0]
            units = self._db.execute("SELECT COUNT(*) FROM units").fetchone()[0]
            calls = self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        return {"packages": packages, "deliveries": deliveries, "undeliverable": undeliverable,
                "done": done, "listed": listed, "units": units, "calls": calls}
