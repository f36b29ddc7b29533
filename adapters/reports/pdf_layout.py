"""The PDF of a task report (reportlab), before it is signed: A4, Vietnamese first with
English beside it, the period, the national table per lead agency and in total with rates,
two charts, and the drill-down list as an annex (every task behind every number, with the
documents that prove it).

DejaVu Sans from matplotlib's package data is embedded (subset) for the Vietnamese
glyphs; the 14 standard PDF fonts have none of them.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from adapters.reports import labels as L
from adapters.reports.charts import COLOURS, agencies_chart, total_chart
from adapters.reports.data import (
    BUCKETS,
    DrillRow,
    ReportData,
    drill_rows,
    is_total,
    rows_with_total,
)
from adapters.reports.tabular import open_in_time_rate
from axis.clock import as_vietnam
from axis.tasks.report import Bucket, Row

FONT, BOLD, ITALIC = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"
GREY, INK, RULE, HEAD_BG = "#5b6b7b", "#1d2731", "#9aa8b6", "#e8eef5"


def render_pdf_unsigned(data: ReportData, lang: L.Lang, *, signed_by: str = "") -> bytes:
    """The report's pages; `signed_by`: the signing certificate's subject, printed in the
    period block so that a printed copy still says who signs it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_fonts()
    out = io.BytesIO()
    report = data.report
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
        bottomMargin=16 * mm, title=f"{L.text('title', 'vi')} – {report.period.label}",
        author=data.issuer or "Axis", subject=L.text("title", "en"), creator="Axis",
        lang="vi-VN" if lang == "vi" else "en", invariant=True)
    story = _Story(data, lang, doc.width, signed_by)
    doc.build(story.flowables(), onFirstPage=story.footer, onLaterPages=story.footer,
              canvasmaker=_dated_canvas(report.as_of))
    return out.getvalue()


class _Story:
    def __init__(self, data: ReportData, lang: L.Lang, width: float, signed_by: str) -> None:
        from reportlab.lib.styles import ParagraphStyle

        self.data, self.lang, self.width, self.signed_by = data, lang, width, signed_by
        base = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=11,
                              textColor=INK)
        self.st = {
            "base": base,
            "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.6),
            "grey": ParagraphStyle("grey", parent=base, fontSize=7, leading=8.6,
                                   textColor=GREY, fontName=ITALIC),
            "center": ParagraphStyle("center", parent=base, alignment=1),
            "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=12.5,
                                    leading=16, alignment=1, spaceBefore=10),
            "subtitle": ParagraphStyle("subtitle", parent=base, fontName=ITALIC,
                                       fontSize=9.5, leading=12, alignment=1,
                                       textColor=GREY, spaceAfter=8),
            "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=10, leading=13,
                                 spaceBefore=10, spaceAfter=4),
            "h3": ParagraphStyle("h3", parent=base, fontName=BOLD, fontSize=8.5,
                                 leading=11, spaceBefore=6, spaceAfter=2),
            "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.2),
            "cellb": ParagraphStyle("cellb", parent=base, fontSize=7.5, leading=9.2,
                                    fontName=BOLD),
            "code": ParagraphStyle("code", parent=base, fontSize=6.6, leading=9.2),
            "num": ParagraphStyle("num", parent=base, fontSize=7.5, leading=9.2,
                                  alignment=1),
            "numb": ParagraphStyle("numb", parent=base, fontSize=7.5, leading=9.2,
                                   alignment=1, fontName=BOLD),
        }

    # --- the pages ------------------------------------------------------------------------

    def flowables(self) -> list[Any]:
        from reportlab.platypus import PageBreak, Spacer

        return [*self._masthead(), *self._period(), Spacer(1, 6),
                *self._table(), *self._charts(), PageBreak(), *self._annex()]

    def footer(self, canvas: Any, doc: Any) -> None:
        from reportlab.lib.units import mm

        canvas.saveState()
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(GREY)
        canvas.setStrokeColor(RULE)
        canvas.line(doc.leftMargin, 11 * mm, doc.leftMargin + doc.width, 11 * mm)
        vi, en = L.text("signed", "vi"), L.text("signed", "en")
        canvas.drawString(doc.leftMargin, 8 * mm, vi)
        canvas.drawString(doc.leftMargin, 5.2 * mm, en)
        page = f"{L.text('page', 'vi')} / {L.text('page', 'en')} {doc.page}"
        canvas.drawRightString(doc.leftMargin + doc.width, 8 * mm,
                               f"{self.data.report.period.label} · {page}")
        canvas.restoreState()

    def _masthead(self) -> list[Any]:
        from reportlab.platypus import Table, TableStyle

        issuer = escape(self.data.issuer or "Trục liên thông văn bản / Document exchange node")
        left = self._p(f"<b>{issuer}</b>", "center")
        right = self._p("<b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br/>"
                        "<u>Độc lập - Tự do - Hạnh phúc</u>", "center")
        head = Table([[left, right]], colWidths=[self.width * 0.42, self.width * 0.58])
        head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        title, other = L.both("title", self.lang)
        return [head, self._p(escape(title), "title"), self._p(escape(other), "subtitle"),
                self._p(escape(L.text("basis", "vi")), "small"),
                self._p(escape(L.text("basis", "en")), "grey")]

    def _period(self) -> list[Any]:
        from reportlab.platypus import Table, TableStyle

        report = self.data.report
        p = report.period
        rows = [
            (self._both("period"), self._p(f"<b>{escape(p.label)}</b>")),
            (self._both("window"), self._p(f"{self._day(p.start)} – {self._day(p.end)}")),
            (self._both("as_of"), self._p(self._time(report.as_of))),
        ]
        if self.signed_by:
            rows.append((self._both("signed_by"), self._p(escape(self.signed_by))))
        table = Table(rows, colWidths=[self.width * 0.34, self.width * 0.66])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]))
        return [table]

    def _table(self) -> list[Any]:
        """Table 1, the national four buckets: "within the deadline" is `open_in_time`
        (within + not yet due), with the not-yet-due part said beneath it."""
        from reportlab.platypus import Table, TableStyle

        head = [self._head("#", "#"), self._head(*L.both("agency", self.lang)),
                self._head(*L.both("total", self.lang))]
        head += [self._head(*L.bucket_both(b, self.lang))
                 for b in (Bucket.COMPLETED_ON_TIME, Bucket.COMPLETED_LATE)]
        head += [self._head(*L.bucket_both(Bucket.OPEN_WITHIN_DEADLINE, self.lang)),
                 self._head(*L.bucket_both(Bucket.OPEN_OVERDUE, self.lang))]
        body: list[list[Any]] = [head]
        for i, row in enumerate(rows_with_total(self.data.report), start=1):
            total = is_total(row)
            name = (L.text("total_row", self.lang) if total
                    else f"{self.data.name(row.agency)}<br/>"
                         f"<font size=6.5 color='{GREY}'>{escape(row.agency)}</font>")
            num = "numb" if total else "num"
            body.append([
                self._p("" if total else str(i), num),
                self._p(f"<b>{name}</b>" if total else name, "cellb" if total else "cell"),
                self._p(str(row.total), num),
                self._count(row, Bucket.COMPLETED_ON_TIME, num),
                self._count(row, Bucket.COMPLETED_LATE, num),
                self._in_time(row, num),
                self._count(row, Bucket.OPEN_OVERDUE, num),
            ])
        w = self.width
        cols = [0.05 * w, 0.27 * w, 0.09 * w, 0.145 * w, 0.145 * w, 0.155 * w, 0.145 * w]
        table = Table(body, colWidths=cols, repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, RULE),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("BACKGROUND", (0, -1), (-1, -1), HEAD_BG),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ]
        for col, b in ((3, Bucket.COMPLETED_ON_TIME), (4, Bucket.COMPLETED_LATE),
                       (5, Bucket.OPEN_WITHIN_DEADLINE), (6, Bucket.OPEN_OVERDUE)):
            style.append(("LINEABOVE", (col, 0), (col, 0), 2.2, COLOURS[b]))
        table.setStyle(TableStyle(style))
        return [self._h2("table_1"), table,
                self._p(escape(self._rate_note()), "grey")]

    def _charts(self) -> list[Any]:
        from reportlab.platypus import KeepTogether

        out: list[Any] = []
        for i, (key, png) in enumerate((
                ("chart_total", total_chart(self.data, self.lang)),
                ("chart_agencies", agencies_chart(self.data, self.lang)))):
            title = " / ".join(L.both(key, self.lang))
            block = [self._p(f"<b>{escape(title)}</b>", "base"), _image(png, self.width)]
            # The section's heading stays with its first chart.
            out.append(KeepTogether([self._h2("charts"), *block] if i == 0 else block))
        return out

    def _annex(self) -> list[Any]:
        from reportlab.platypus import KeepTogether, Table, TableStyle

        out: list[Any] = [self._h2("annex"), self._p(escape(L.text("annex_note", "vi")),
                                                     "small"),
                          self._p(escape(L.text("annex_note", "en")), "grey")]
        rows = drill_rows(self.data)
        if not rows:
            out.append(self._p(escape(L.text("none", self.lang))))
            return out
        w = self.width
        cols = [0.05 * w, 0.19 * w, 0.23 * w, 0.13 * w, 0.40 * w]
        head = [self._head("#", "#"), self._head(*L.both("code", self.lang)),
                self._head(*L.both("content", self.lang)),
                self._head(*L.both("deadline", self.lang)),
                self._head(*L.both("evidence", self.lang))]
        agency_rows = {r.agency: r for r in self.data.report.rows}
        n = 0
        for agency, row in agency_rows.items():
            out.append(self._p(f"{escape(self.data.name(agency))} "
                               f"<font color='{GREY}'>({escape(agency)})</font> — "
                               f"{row.total}", "h2"))
            for b in BUCKETS:
                tasks = [r for r in rows if r.agency == agency and r.bucket is b]
                if not tasks:
                    continue
                label = " / ".join(L.bucket_both(b, self.lang))
                title = self._p(f"<font color='{COLOURS[b]}'>■</font> {escape(label)}: "
                                f"{len(tasks)}", "h3")
                body: list[list[Any]] = [head]
                for r in tasks:
                    n += 1
                    body.append([self._p(str(n), "num"), self._p(_breakable(r.code), "code"),
                                 self._p(escape(r.content), "cell"),
                                 self._p(self._deadline(r), "cell"),
                                 self._p(self._evidence(r), "cell")])
                table = Table(body, colWidths=cols, repeatRows=1)
                table.setStyle(TableStyle([
                    ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                    ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]))
                out.append(KeepTogether([title, table]) if len(tasks) <= 3
                           else title)
                if len(tasks) > 3:
                    out.append(table)
        return out

    # --- pieces ---------------------------------------------------------------------------

    def _p(self, markup: str, style: str = "base") -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(markup, self.st[style])

    def _h2(self, key: str) -> Any:
        first, second = L.both(key, self.lang)
        return self._p(f"{escape(first)}<br/><font size=8 color='{GREY}' name='{ITALIC}'>"
                       f"{escape(second)}</font>", "h2")

    def _both(self, key: str) -> Any:
        first, second = L.both(key, self.lang)
        return self._p(f"{escape(first)} <font color='{GREY}' name='{ITALIC}'>/ "
                       f"{escape(second)}</font>", "base")

    def _head(self, first: str, second: str) -> Any:
        if first == second:
            return self._p(f"<b>{escape(first)}</b>", "numb")
        return self._p(f"<b>{escape(first)}</b><br/><font size=6.3 color='{GREY}' "
                       f"name='{ITALIC}'>{escape(second)}</font>", "cell")

    def _count(self, row: Row, bucket: Bucket, style: str) -> Any:
        return self._p(f"{row.count(bucket)}<br/><font size=6.5 color='{GREY}'>"
                       f"{self._pct(row.rate(bucket))}</font>", style)

    def _in_time(self, row: Row, style: str) -> Any:
        later = row.count(Bucket.NOT_YET_DUE)
        note = (f"<br/><font size=6 color='{GREY}'>"
                f"{escape(L.text('of_which_not_yet_due', self.lang))}: {later}</font>"
                if later else "")
        return self._p(f"{row.open_in_time}<br/><font size=6.5 color='{GREY}'>"
                       f"{self._pct(open_in_time_rate(row))}</font>{note}", style)

    def _deadline(self, r: DrillRow) -> str:
        text = self._day(r.deadline)
        if r.deadline != r.original_deadline:
            text += (f"<br/><font size=6.3 color='{GREY}'>"
                     f"{escape(L.text('original_deadline', self.lang))}: "
                     f"{self._day(r.original_deadline)}</font>")
        if r.completed_at is not None:
            text += (f"<br/><font size=6.3>{escape(L.text('completed_at', self.lang))}: "
                     f"{self._time(r.completed_at)}</font>")
        return text

    def _evidence(self, r: DrillRow) -> str:
        lines = [f"<font size=6.3 color='{GREY}'>{escape(L.action(e.action, self.lang))} · "
                 f"{self._time(e.at)}</font><br/><font size=6.6>{escape(e.document_id)}</font>"
                 for e in r.evidence]
        return "<br/>".join(lines)

    def _rate_note(self) -> str:
        vi = "Tỷ lệ: phần trăm trên tổng số nhiệm vụ của dòng."
        en = "Rate: share of the row's tasks."
        return f"{vi} / {en}" if self.lang == "vi" else f"{en} / {vi}"

    def _pct(self, rate: float) -> str:
        text = f"{rate * 100:.1f}%"
        return text.replace(".", ",") if self.lang == "vi" else text

    def _day(self, d: date) -> str:
        return d.strftime("%d/%m/%Y") if self.lang == "vi" else d.isoformat()

    def _time(self, at: datetime) -> str:
        fmt = "%d/%m/%Y %H:%M" if self.lang == "vi" else "%Y-%m-%d %H:%M"
        return f"{at.strftime(fmt)} (+07:00)"


def _breakable(code: str) -> str:
    """A task code may break after its issuer (`<OrganId>-<yyyymmdd>-…`, mint_code),
    rather than anywhere in the middle of a number."""
    head, sep, tail = code.partition("-")
    if len(code) <= 20 or not sep:
        return escape(code)
    return f"{escape(head)}-<br/>{escape(tail)}"


def _image(png: bytes, width: float) -> Any:
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    w, h = ImageReader(io.BytesIO(png)).getSize()
    return Image(io.BytesIO(png), width=width, height=width * h / w)


def _dated_canvas(at: datetime) -> Any:
    from reportlab.pdfgen.canvas import Canvas

    def make(*args: Any, **kwargs: Any) -> Any:
        canvas = Canvas(*args, **kwargs)
        _date(canvas, at)
        return canvas

    return make


def _date(canvas: Any, at: datetime) -> None:
    """The PDF's CreationDate is the report's `as_of`, not the rendering's clock (the
    time is injected): reportlab offers only "now" or 2000-01-01 (invariant mode), so its
    time stamp is set here. It is reportlab's private object: skipped if it changes."""
    stamp = getattr(getattr(canvas, "_doc", None), "_timeStamp", None)
    if stamp is None or not hasattr(stamp, "YMDhms"):
        return
    local = as_vietnam(at)
    stamp.t = local.timestamp()
    stamp.lt = local.timetuple()
    stamp.YMDhms = tuple(stamp.lt)[:6]
    stamp.dhh, stamp.dmm, stamp.tzname = 7, 0, "+07"


@cache
def _register_fonts() -> None:
    """reportlab keeps fonts in a process-wide registry: registered once."""
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"),
                       (ITALIC, "DejaVuSans-Oblique.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(fonts / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC,
                                  boldItalic=BOLD)
