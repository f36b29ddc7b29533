"""Task reports in the console (issue 12, item 5; Art. 14.3.đ): a period (2026-11,
2026-Q4, 2026-H2, 2026 or a custom from..to, on the configured windows, 15th → 14th by
default), every agency or one lead; the national table with every number a link to the
tasks behind it; the report downloaded as CSV, XLSX or the node-signed PDF that the
provincial portal publishes as is.

The numbers are the CLI's (`axis tasks report`): both load them with
`adapters.reports.source.load_report` and render with `adapters.reports.render`, so the
console never publishes a figure the signed PDF does not. The table and a drill-down are
`access.search`; a download is `access.export` with its reason, before it is made.
Rendering is synchronous and CPU-bound (a PDF takes a second): the export route is a
plain `def`, run in the server's worker threads, off the event loop.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from adapters.console import i18n
from adapters.console.tasks import HERE, refused, task_link
from adapters.console.web import Console, ConsoleRoute, Ctx, Leave
from adapters.reports import FORMATS, MEDIA_TYPES, Format, render
from adapters.reports.data import BUCKETS, ReportData, drill_rows, is_total, rows_with_total
from adapters.reports.labels import bucket as bucket_label
from adapters.reports.source import load_report
from adapters.task_parts import task_parts
from axis.auth import roles
from axis.clock import as_vietnam
from axis.errors import AxisError
from axis.journal.access import Action
from axis.tasks.report import TOTAL, Bucket, Period, PeriodConfig, parse_period

REPORT = f"{HERE}/report"
EXTENSIONS: dict[Format, str] = {"pdf": "pdf", "xlsx": "xlsx", "csv": "csv",
                                 "csv-tasks": "csv"}

i18n.add({
    "report.title": ("Báo cáo tình hình thực hiện nhiệm vụ (Điều 14.3.đ)",
                     "Report on the assigned tasks (Art. 14.3.đ)"),
    "report.period": ("Kỳ báo cáo", "Period"),
    "report.period_hint": ("Tháng 2026-11, quý 2026-Q4, 6 tháng 2026-H2, năm 2026; hoặc "
                           "chọn từ ngày … đến ngày",
                           "Month 2026-11, quarter 2026-Q4, half 2026-H2, year 2026; or "
                           "choose from … to"),
    "report.from": ("Từ ngày (kỳ tùy chọn)", "From (custom period)"),
    "report.to": ("Đến ngày", "To"),
    "report.agency": ("Cơ quan chủ trì (trống: tất cả)", "Lead agency (empty: all)"),
    "report.show": ("Xem báo cáo", "Show the report"),
    "report.window": ("Từ {start} đến {end}, số liệu tính đến {as_of}",
                      "From {start} to {end}, figures as of {as_of}"),
    "report.agency_col": ("Cơ quan chủ trì", "Lead agency"),
    "report.total": ("Tổng số", "Total"),
    "report.total_row": ("Tổng cộng", "Total"),
    "report.none": ("Không có nhiệm vụ trong kỳ.", "No task in this period."),
    "report.download": ("Tải báo cáo", "Download the report"),
    "report.issuer": ("Đơn vị báo cáo (in trên báo cáo)", "Reported by (printed)"),
    "report.csv": ("CSV (bảng tổng hợp)", "CSV (the table)"),
    "report.csv_tasks": ("CSV (danh sách nhiệm vụ)", "CSV (the task list)"),
    "report.xlsx": ("XLSX", "XLSX"),
    "report.pdf": ("PDF có ký số", "Signed PDF"),
    "report.drill": ("Các nhiệm vụ của chỉ tiêu", "The tasks behind the number"),
    "report.back": ("← Về báo cáo", "← Back to the report"),
    "report.bad": ("Kỳ báo cáo không hợp lệ", "Invalid period"),
    "report.evidence": ("Văn bản chứng minh", "Evidence documents"),
    "report.completed_at": ("Hoàn thành lúc", "Completed at"),
})


def _period_label(period: str, start: str, end: str) -> str:
    """The label `parse_period` reads: a custom window when both days are given."""
    if start.strip() and end.strip():
        return f"{start.strip()}..{end.strip()}"
    return period.strip()[:40]


def default_period(now: datetime) -> str:
    """The current quarter: what the Office reports on most often."""
    today = as_vietnam(now).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def suggestions(now: datetime) -> list[str]:
    y = as_vietnam(now).year
    return [*(f"{y}-{m:02d}" for m in range(1, 13)), *(f"{y}-Q{q}" for q in range(1, 5)),
            f"{y}-H1", f"{y}-H2", str(y), str(y - 1)]


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=REPORT, route_class=ConsoleRoute, include_in_schema=False)
    store = task_parts(console.node).store
    registry, settings = console.node.registry, console.settings
    viewer = Depends(console.need(roles.VIEWER))  # defaults, not Annotated (see login.py)

    def period_of(ctx: Ctx, label: str) -> Period:
        try:
            return parse_period(label, PeriodConfig(settings.tasks.report_start_day))
        except AxisError as exc:
            raise refused(ctx, exc, "report.bad") from exc

    def lead_of(ctx: Ctx, agency: str) -> str | None:
        """The lead agency asked for, by either identifier form; None: every agency."""
        if not agency.strip():
            return None
        found = registry.find(agency.strip()[:64])
        if found is None:
            raise Leave(ctx.render("message.html", status=404,
                                   title=ctx.t("notfound.title"), text=agency[:64]))
        return found.agency_id

    def load(ctx: Ctx, label: str, agency: str, issuer: str = "") -> ReportData:
        period, lead = period_of(ctx, label), lead_of(ctx, agency)
        names = {a.agency_id: a.name for a in registry.list()}
        return load_report(store, period, console.now(), agency=lead, names=names,
                           issuer=issuer)

    @r.get("")
    def report(period: str = "", start: str = "", end: str = "", agency: str = "",
               ctx: Ctx = viewer) -> Response:
        label = _period_label(period, start, end) or default_period(console.now())
        ctx.journal(Action.SEARCH, REPORT, period=label, agency=agency[:64])
        data = load(ctx, label, agency)
        base = {"period": label, "agency": agency.strip()[:64]}

        def drill(row: str, bucket: Bucket) -> str:
            return f"{REPORT}/drill?" + urlencode({**base, "row": row, "bucket": bucket.value})

        return ctx.render(
            "tasks_report.html", data=data, rows=rows_with_total(data.report),
            is_total=is_total, buckets=BUCKETS, label=label, agency=base["agency"],
            start=start, end=end, suggestions=suggestions(console.now()), drill=drill,
            bucket_label=lambda b: bucket_label(b, _lang(ctx)),
            window=ctx.t("report.window").format(
                start=_d(data.report.period.start), end=_d(data.report.period.end),
                as_of=as_vietnam(data.report.as_of).strftime("%d/%m/%Y %H:%M")))

    @r.get("/drill")
    def drill(period: str, row: str, bucket: str, agency: str = "",
              ctx: Ctx = viewer) -> Response:
        ctx.journal(Action.SEARCH, f"{REPORT}/drill", period=period[:40], row=row[:64],
                    bucket=bucket[:40], agency=agency[:64])
        try:
            wanted = Bucket(bucket)
        except ValueError:
            raise Leave(ctx.render("message.html", status=404,
                                   title=ctx.t("notfound.title"), text=bucket[:40])) from None
        data = load(ctx, period, agency)
        rows = [d for d in drill_rows(data, None if row == TOTAL else row)
                if d.bucket is wanted]
        back = f"{REPORT}?" + urlencode({"period": period, "agency": agency})
        return ctx.render("tasks_drill.html", data=data, rows=rows, back=back,
                          row=row, name=data.name, total=row == TOTAL,
                          bucket_text=bucket_label(wanted, _lang(ctx)),
                          task_link=task_link, d=_d, when=_when)

    @r.post("/export")
    def export(csrf: str = Form(""), reason: str = Form(""), period: str = Form(""),
               agency: str = Form(""), issuer: str = Form(""), fmt: str = Form("pdf"),
               ctx: Ctx = viewer) -> Response:
        # A plain def: FastAPI runs it in a worker thread (render is CPU-bound).
        form = {"csrf": csrf, "reason": reason}
        ctx.check_form(form)
        why = ctx.reason(form)
        if fmt not in FORMATS:
            raise Leave(ctx.render("message.html", status=400, title=ctx.t("report.bad"),
                                   text=fmt[:20]))
        kind: Format = fmt
        ctx.journal(Action.EXPORT, REPORT, reason=why, format=kind, period=period[:40],
                    agency=agency[:64])
        data = load(ctx, period, agency, issuer.strip()[:200])
        try:
            body = render(data, kind, _lang(ctx),
                          console.node.signer if kind == "pdf" else None)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        name = f"axis-tasks-{_safe(data.report.period.label)}.{EXTENSIONS[kind]}"
        if kind == "csv-tasks":
            name = name.replace(".csv", "-tasks.csv")
        return Response(body, media_type=MEDIA_TYPES[kind], headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store"})

    return r


def _lang(ctx: Ctx) -> Any:
    return "en" if ctx.lang == "en" else "vi"


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _when(at: datetime | None) -> str:
    return "" if at is None else as_vietnam(at).strftime("%d/%m/%Y %H:%M")


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in label)
