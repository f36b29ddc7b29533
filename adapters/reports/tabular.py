"""CSV renderings of a task report: the national table (one row per lead agency and the
total) and the drill-down list (one row per task behind a number).

UTF-8 with a byte-order mark: spreadsheet programs that agency staff open CSV files with
read Vietnamese correctly only with it. Times are ISO 8601 with +07:00, rates percent of
the row's tasks with one decimal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from adapters.reports import labels as L
from adapters.reports.data import (
    BUCKETS,
    DrillRow,
    ReportData,
    drill_rows,
    is_total,
    rows_with_total,
)
from axis.tasks.report import Row


def summary_header(lang: L.Lang) -> list[str]:
    head = [L.text("agency_id", lang), L.text("agency", lang), L.text("total", lang)]
    for b in BUCKETS:
        head += [L.bucket(b, lang), f"{L.text('rate', lang)} (%): {L.bucket(b, lang)}"]
    head += [L.text("open_in_time", lang),
             f"{L.text('rate', lang)} (%): {L.text('open_in_time', lang)}"]
    return head


def summary_rows(data: ReportData, lang: L.Lang) -> list[list[str | int | float]]:
    out: list[list[str | int | float]] = []
    for row in rows_with_total(data.report):
        name = L.text("total_row", lang) if is_total(row) else data.name(row.agency)
        line: list[str | int | float] = [row.agency, name, row.total]
        for b in BUCKETS:
            line += [row.count(b), percent(row.rate(b))]
        line += [row.open_in_time, percent(open_in_time_rate(row))]
        out.append(line)
    return out


def drill_header(lang: L.Lang) -> list[str]:
    return [L.text(k, lang) for k in (
        "agency_id", "agency", "bucket", "code", "content", "assigning_document",
        "assigned_at", "original_deadline", "deadline", "deadline_documents",
        "completed_at", "completion_document", "evidence")]


def drill_line(row: DrillRow, lang: L.Lang) -> list[str]:
    return [
        row.agency, row.agency_name, L.bucket(row.bucket, lang), row.code, row.content,
        row.assigning_document, stamp(row.assigned_at), row.original_deadline.isoformat(),
        row.deadline.isoformat(), "; ".join(row.deadline_documents),
        stamp(row.completed_at), row.completion_document, evidence_text(row, lang),
    ]


def evidence_text(row: DrillRow, lang: L.Lang) -> str:
    return "; ".join(f"{L.action(e.action, lang)} {e.document_id} @ {stamp(e.at)}"
                     for e in row.evidence)


def render_summary_csv(data: ReportData, lang: L.Lang) -> bytes:
    return _csv([summary_header(lang), *summary_rows(data, lang)])


def render_drill_csv(data: ReportData, lang: L.Lang) -> bytes:
    return _csv([drill_header(lang), *(drill_line(r, lang) for r in drill_rows(data))])


def percent(rate: float) -> float:
    return round(rate * 100, 1)


def open_in_time_rate(row: Row) -> float:
    return row.open_in_time / row.total if row.total else 0.0


def stamp(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else ""


def _csv(lines: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(lines)
    return out.getvalue().encode("utf-8-sig")
