"""The journal reads the console's Journal page needs (axis/app/journal_audit.py's
`JournalReads`): a time window as seq numbers, the `access.*` entries a page at a time,
the checkpoints a page at a time, and the journal's verdict against the latest exported
checkpoint (the same judgement as `axis audit verify --checkpoint`: checkpoints.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.store import route_journal
from adapters.store.checkpoint_tables import journal_checkpoints
from adapters.store.checkpoints import file_name, files, judge_file, verdict_report
from adapters.store.route_repo import READ_ONLY, SqlRouteStore, translate
from adapters.store.route_tables import journal
from axis.app.journal_audit import CheckpointRow
from axis.journal.access import KIND_PREFIX
from axis.journal.audit import ChainReport
from axis.journal.chain import JournalEntry, canonical
from axis.journal.checkpoint import Checkpoint


class SqlJournalReads:
    def __init__(self, store: SqlRouteStore, directory: Path, trusted: Iterable[str]) -> None:
        self._store, self._directory, self._trusted = store, directory, set(trusted)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._store.engine.connect().execution_options(**{READ_ONLY: True}) as c:
                yield c
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def verify_journal(self, first: int | None = None, last: int | None = None
                       ) -> ChainReport:
        return self._store.verify_journal(first, last)

    def last_journal_entry(self, kind: str) -> JournalEntry | None:
        return self._store.last_journal_entry(kind)

    def append(self, at: datetime, kind: str, subject: str,
               payload: dict[str, object]) -> JournalEntry:
        with self._store.transaction() as tx:
            return tx.append_journal(at, kind, subject, payload)

    def seq_range(self, since: datetime | None, until: datetime | None
                  ) -> tuple[int, int] | None:
        j = journal.c
        q = select(func.min(j.seq), func.max(j.seq))
        if since is not None:
            q = q.where(j.at >= since)
        if until is not None:
            q = q.where(j.at <= until)
        with self._read() as conn:
            row = conn.execute(q).first()
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    def access_entries(self, actor: str, limit: int, offset: int) -> list[JournalEntry]:
        j = journal.c
        q = select(journal).where(j.kind.startswith(KIND_PREFIX, autoescape=True))
        if actor:
            # The payload is canonical JSON (sorted keys, no spaces) and `actor` is the
            # first of an access entry's keys (axis/journal/access.py): the text starts
            # with the actor's pair; a detail naming the same actor does not match.
            start = canonical({"actor": actor})[:-1] + ","
            q = q.where(j.payload.startswith(start, autoescape=True))
        q = q.order_by(j.seq.desc()).limit(limit).offset(offset)
        with self._read() as conn:
            return [route_journal.entry_of(r) for r in conn.execute(q)]

    def checkpoints(self, limit: int, offset: int) -> list[CheckpointRow]:
        t = journal_checkpoints.c
        q = (select(t.seq, t.head, t.at, t.signer).order_by(t.seq.desc())
             .limit(limit).offset(offset))
        with self._read() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            path = self._directory / file_name(int(r.seq))
            out.append(CheckpointRow(Checkpoint(int(r.seq), r.head, r.at, r.signer),
                                     str(path) if path.is_file() else ""))
        return out

    def checkpoint_verdict(self) -> dict[str, object] | None:
        found = files(self._directory)
        if not found:
            return None
        given = judge_file(found[0], self._trusted)
        cp = given[1]
        with self._read() as conn:
            sealed = route_journal.head(conn).seq
            link = route_journal.link_at(conn, cp.seq) if isinstance(cp, Checkpoint) \
                else None
        return verdict_report(given, sealed, link)
