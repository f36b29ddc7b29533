"""Task reports rendered for people and for the provincial portal (Art. 14.3.đ; issue 12,
item 5): CSV, XLSX and a node-signed PDF with charts.

The numbers come from the core (`axis.tasks.report`); this package only lays them out,
with the libraries that takes (openpyxl, reportlab, matplotlib, pyHanko), which is why it
is an adapter. The CLI (`axis tasks report`) and the console call `render`.

    data = report_data(tasks, parse_period("2026-Q4"), as_of)
    pdf = render(data, "pdf", "vi", node_signer(settings, now))
"""

from __future__ import annotations

from typing import Literal, get_args

from adapters.reports.data import DrillRow, ReportData, drill_rows, report_data
from adapters.reports.labels import LANGS, Lang
from axis import errors
from axis.trust.sign import NodeSigner

Format = Literal["pdf", "xlsx", "csv", "csv-tasks"]
FORMATS: tuple[Format, ...] = get_args(Format)
MEDIA_TYPES: dict[Format, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "csv-tasks": "text/csv; charset=utf-8",
}

__all__ = ["FORMATS", "LANGS", "MEDIA_TYPES", "DrillRow", "Format", "Lang", "ReportData",
           "drill_rows", "render", "report_data"]


def render(report: ReportData, fmt: Format, lang: Lang = "vi",
           signer: NodeSigner | None = None) -> bytes:
    """The report as a file: `csv` the national table (per agency and total),
    `csv-tasks` the drill-down list, `xlsx` both and the totals (a sheet each), `pdf`
    everything with charts, signed by `signer` (required for a PDF: an unsigned report is
    not one the portal may publish). Signed at the report's `as_of`.

    Synchronous and CPU-bound (a second or so for a PDF): call it off an event loop."""
    if lang not in LANGS:
        raise errors.CONFIG_INVALID.error(f"report language {lang!r}: vi or en")
    if fmt == "csv":
        from adapters.reports.tabular import render_summary_csv

        return render_summary_csv(report, lang)
    if fmt == "csv-tasks":
        from adapters.reports.tabular import render_drill_csv

        return render_drill_csv(report, lang)
    if fmt == "xlsx":
        from adapters.reports.workbook import render_xlsx

        return render_xlsx(report, lang)
    if fmt == "pdf":
        if signer is None:
            raise errors.CONFIG_INVALID.error("a PDF report is signed: give the node's signer")
        from adapters.reports.labels import text
        from adapters.reports.pdf_layout import render_pdf_unsigned
        from adapters.reports.pdf_sign import sign_pdf

        pages = render_pdf_unsigned(report, lang, signed_by=signer.cert.subject.rfc4514_string())
        return sign_pdf(pages, signer, at=report.report.as_of,
                        reason=f"{text('title', 'vi')} ({report.report.period.label})")
    raise errors.CONFIG_INVALID.error(f"report format {fmt!r}: one of {', '.join(FORMATS)}")
