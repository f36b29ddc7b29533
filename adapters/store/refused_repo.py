"""SqlRefusedEvidence: the bytes of refused packages, kept for `axis audit replay`
(axis/route/evidence.py; issue 11, item 2).

Content-addressed files under their own root (data_dir/refused), never the package store:
the orphan collector does not see them, and a refusal leaves nothing in the package store
(tests/test_refusal_cleanup.py). One row per refusal (`refused_packages`, by error id):
the same bytes refused twice are one file and two rows.

Bounded two ways (AuditSettings): kept at most `refused_retention_days` (the
audit.refused job prunes), and never beyond `refused_max_bytes` in total: past the cap
the bytes are not kept and the journal says `kept: false`. The cap is checked and the row
written in one transaction; on SQLite the node's writers are serialised (BEGIN
IMMEDIATE), on PostgreSQL two refusals at once may pass it by one package each.

The file is written (fsync) before its row commits: a crash in between leaves a file no
row names, which `prune` deletes after a grace period, as the orphan collector does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.logs import get_logger
from adapters.store import db
from adapters.store.blobs import FileBlobs
from adapters.store.refused_tables import refused_packages
from axis import errors

log = get_logger("axis.store.refused")

# A file no row names is deleted once untouched this long (a crash between the file and
# its row; or a row pruned while the same bytes were being refused again).
GRACE = timedelta(hours=1)

R = refused_packages.c


@dataclass(frozen=True, slots=True)
class Pruned:
    rows: int
    files: int


class SqlRefusedEvidence:
    """RefusedEvidence over the node's database and a directory of its own."""

    def __init__(self, engine: Engine, root: Path, *, max_bytes: int) -> None:
        self._engine, self._blobs, self._max = engine, FileBlobs(root), max_bytes

    @property
    def root(self) -> Path:
        return self._blobs.root

    def kept_bytes(self) -> int:
        """The bytes kept, each file once."""
        with db.transaction(self._engine, "refused evidence") as conn:
            return _total(conn)

    def keep(self, raw: bytes, *, sha256: str, at: datetime, error_id: str,
             code: str) -> bool:
        try:
            with db.transaction(self._engine, "refused evidence") as conn:
                held = conn.execute(select(R.sha256).where(R.sha256 == sha256)
                                    .limit(1)).first() is not None
                if not held:
                    if _total(conn) + len(raw) > self._max:
                        return False  # the cap: not kept, the journal says so
                    self._blobs.put(raw, sha256)
                conn.execute(insert(refused_packages).values(
                    error_id=error_id, sha256=sha256, size=len(raw), at=at, code=code))
            return True
        except (errors.AxisError, SQLAlchemyError) as exc:
            # Evidence is best effort: the refusal itself is journaled all the same.
            log.warning("refused package not kept", error_id=error_id,
                        reason=getattr(exc, "detail", type(exc).__name__))
            return False

    def get(self, sha256: str) -> bytes | None:
        with db.transaction(self._engine, "refused evidence") as conn:
            row = conn.execute(select(R.sha256).where(R.sha256 == sha256).limit(1)).first()
        if row is None:
            return None
        try:
            return self._blobs.get(sha256)
        except errors.AxisError:
            return None  # missing or corrupt: not evidence any more

    def prune(self, now: datetime, *, retention: timedelta,
              grace: timedelta = GRACE) -> Pruned:
        """Delete the rows older than `retention`, then the files no row names that
        nothing touched for `grace`."""
        with db.transaction(self._engine, "refused evidence") as conn:
            rows = conn.execute(delete(refused_packages)
                                .where(R.at < now - retention)).rowcount or 0
        before = now - grace
        files = 0
        for sha in list(self._blobs.stale(before)):
            with db.transaction(self._engine, "refused evidence") as conn:
                named = conn.execute(select(R.sha256).where(R.sha256 == sha)
                                     .limit(1)).first() is not None
            if not named and self._blobs.discard(sha, before):
                files += 1
        return Pruned(rows, files)


def _total(conn: Connection) -> int:
    files = select(R.sha256, R.size).distinct().subquery()
    return int(conn.execute(select(func.coalesce(func.sum(files.c.size), 0))).scalar_one())
