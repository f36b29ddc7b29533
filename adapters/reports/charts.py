"""The task report's charts, drawn with matplotlib as PNG for the PDF.

A figure object of its own (no pyplot state: a console process may draw for two users at
once) on the Agg canvas; DejaVu Sans, matplotlib's default, has the Vietnamese glyphs.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

from adapters.reports import labels as L
from adapters.reports.data import BUCKETS, ReportData
from axis.tasks.report import Bucket

COLOURS: dict[Bucket, str] = {
    Bucket.COMPLETED_ON_TIME: "#1b7f3b",
    Bucket.COMPLETED_LATE: "#d98e04",
    Bucket.OPEN_WITHIN_DEADLINE: "#1f5fa8",
    Bucket.OPEN_OVERDUE: "#b3261e",
    Bucket.NOT_YET_DUE: "#8fb3dc",
}
DPI = 200


def agencies_chart(data: ReportData, lang: L.Lang) -> bytes:
    """One horizontal stacked bar per lead agency, the buckets in the national order."""
    rows = data.report.rows
    height = 1.3 + 0.42 * max(len(rows), 1)
    fig, ax = _figure(6.9, height)
    names = [textwrap.fill(data.name(r.agency), 28) for r in rows]
    ys = list(range(len(rows)))[::-1]  # the first agency on top, as in the table
    left = [0] * len(rows)
    for b in BUCKETS:
        counts = [r.count(b) for r in rows]
        bars = ax.barh(ys, counts, left=left, color=COLOURS[b], height=0.62,
                       label=L.bucket(b, lang))
        labels = [str(c) if c else "" for c in counts]
        ax.bar_label(bars, labels=labels, label_type="center", color="white",
                     fontsize=7.5, fontweight="bold")
        left = [a + c for a, c in zip(left, counts, strict=True)]
    ax.set_yticks(ys, names, fontsize=8)
    ax.set_xlabel(L.text("total", lang), fontsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#d5dde5", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.legend(loc="outside lower center", ncol=3, fontsize=7.5, frameon=False)
    return _png(fig)


def total_chart(data: ReportData, lang: L.Lang) -> bytes:
    """The total row's shares, a ring with the percentages."""
    total = data.report.total
    fig, ax = _figure(6.9, 2.5)
    shown = [b for b in BUCKETS if total.count(b)]
    if not shown:
        ax.text(0.5, 0.5, L.text("none", lang), ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return _png(fig)
    counts = [total.count(b) for b in shown]
    wedges, _, autotexts = ax.pie(
        counts, colors=[COLOURS[b] for b in shown], startangle=90, counterclock=False,
        wedgeprops={"width": 0.42, "edgecolor": "white"}, autopct="%1.0f%%",
        pctdistance=0.79, textprops={"fontsize": 7.5})
    for t in autotexts:
        t.set_color("white")
        t.set_fontweight("bold")
    ax.text(0, 0, f"{total.total}\n{L.text('total', lang)}", ha="center", va="center",
            fontsize=8)
    ax.set_aspect("equal")
    ax.legend(wedges, [f"{L.bucket(b, lang)}: {total.count(b)}" for b in shown],
              loc="center left", bbox_to_anchor=(1.05, 0.5), fontsize=7.5, frameon=False)
    return _png(fig)


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
