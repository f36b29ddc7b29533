"""The registry's search for the console (axis/app/registry_browse.py `AgencySearch`):
the ids of one page of matches and the count of all, in the database, never the whole
table in memory. A match: the text inside either identifier form or the name (case
folded by the database: ASCII on SQLite, full on PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.store.registry_tables import agencies
from axis import errors
from axis.registry.model import AgencyState


class SqlAgencySearch:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def search(self, text: str, state: AgencyState | None, limit: int, offset: int
               ) -> tuple[int, list[str]]:
        a = agencies.c
        where: list[ColumnElement[bool]] = []
        if text:
            where.append(or_(a.agency_id.icontains(text, autoescape=True),
                             a.short_id.icontains(text, autoescape=True),
                             a.name.icontains(text, autoescape=True)))
        if state is not None:
            where.append(a.state == state.value)
        try:
            with self._engine.connect() as conn:
                total = conn.execute(select(func.count()).select_from(agencies)
                                     .where(*where)).scalar_one()
                ids = conn.execute(select(a.agency_id).where(*where).order_by(a.agency_id)
                                   .limit(limit).offset(offset)).scalars().all()
        except SQLAlchemyError as exc:
            raise errors.STORE_UNAVAILABLE.error(f"registry: {type(exc).__name__}") from exc
        return int(total), [str(i) for i in ids]
