"""The XLSX rendering of a task report (openpyxl): a sheet per view.

1. Totals: the period, then every bucket of the total row with its number and rate.
2. Per agency: the national table, one row per lead agency and the total.
3. Tasks: the drill-down list, every task behind every number with the documents that
   prove it (the same columns as the CSV list).

Numbers are numbers and rates fractions formatted as percentages, so the sheets can be
summed and charted as they are.
"""

from __future__ import annotations

import io
from typing import Any

from adapters.reports import labels as L
from adapters.reports.data import BUCKETS, ReportData, drill_rows, is_total, rows_with_total
from adapters.reports.tabular import drill_header, drill_line, open_in_time_rate, stamp

_PCT = "0.0%"


def render_xlsx(data: ReportData, lang: L.Lang) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    wb = Workbook()
    report = data.report
    # Reproducible properties: the report's own time, not the time of rendering.
    wb.properties.creator = data.issuer or "Axis"
    wb.properties.title = L.text("title", lang)
    wb.properties.created = report.as_of.replace(tzinfo=None)

    totals: Any = wb.active
    totals.title = L.text("summary", lang)[:31]
    totals.append([L.text("title", lang)])
    totals["A1"].font = Font(bold=True, size=12)
    totals.append([L.text("period", lang), report.period.label])
    totals.append([L.text("window", lang), report.period.start.isoformat(),
                   report.period.end.isoformat()])
    totals.append([L.text("as_of", lang), stamp(report.as_of)])
    if data.issuer:
        totals.append([L.text("issuer", lang), data.issuer])
    totals.append([])
    totals.append([L.text("bucket", lang), L.text("count", lang), L.text("rate", lang)])
    _bold_last(totals, bold)
    total = report.total
    for b in BUCKETS:
        totals.append([L.bucket(b, lang), total.count(b), total.rate(b)])
        totals.cell(totals.max_row, 3).number_format = _PCT
    totals.append([L.text("open_in_time", lang), total.open_in_time,
                   open_in_time_rate(total)])
    totals.cell(totals.max_row, 3).number_format = _PCT
    totals.append([L.text("total", lang), total.total])
    _bold_last(totals, bold)
    _widths(totals, (52, 28, 14))

    agencies: Any = wb.create_sheet(L.text("per_agency", lang)[:31])
    head = [L.text("agency_id", lang), L.text("agency", lang), L.text("total", lang)]
    for b in BUCKETS:
        head += [L.bucket(b, lang), L.text("rate", lang)]
    head += [L.text("open_in_time", lang), L.text("rate", lang)]
    agencies.append(head)
    _bold_last(agencies, bold)
    for cell in agencies[1]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows_with_total(report):
        name = L.text("total_row", lang) if is_total(row) else data.name(row.agency)
        line: list[object] = [row.agency, name, row.total]
        for b in BUCKETS:
            line += [row.count(b), row.rate(b)]
        line += [row.open_in_time, open_in_time_rate(row)]
        agencies.append(line)
        for col in range(5, len(line) + 1, 2):
            agencies.cell(agencies.max_row, col).number_format = _PCT
        if is_total(row):
            _bold_last(agencies, bold)
    agencies.freeze_panes = "C2"
    _widths(agencies, (16, 30, 10, *([12] * 12)))

    drill: Any = wb.create_sheet(L.text("drill", lang)[:31])
    drill.append(drill_header(lang))
    _bold_last(drill, bold)
    for r in drill_rows(data):
        drill.append(drill_line(r, lang))
    drill.freeze_panes = "D2"
    drill.auto_filter.ref = drill.dimensions
    _widths(drill, (16, 24, 26, 28, 50, 34, 26, 14, 14, 30, 26, 34, 80))

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _bold_last(ws: Any, font: Any) -> None:
    for cell in ws[ws.max_row]:
        cell.font = font


def _widths(ws: Any, widths: tuple[int, ...]) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
