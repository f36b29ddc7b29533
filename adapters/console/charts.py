"""The Overview's charts: matplotlib drawn on the server as SVG (no JavaScript, nothing
from the internet: the console's CSP allows neither). Labels come in the session's
language; the figures are computed by the core (axis/app/traffic.py) before they get here.

matplotlib is imported inside `_figure`, with the Agg backend (no display), so a node
that never draws a chart never loads it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from axis.app.traffic_values import LatencyDay, Series, Waiting

ACCEPTED, REFUSED, P50, P95 = "#1f5fa8", "#b3261e", "#1b7f3b", "#a86400"


def _figure(width: float = 7.0, height: float = 2.8) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9,
                         "svg.hashsalt": "axis-console"})  # the same data, the same SVG
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#d5dde5", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    return out.getvalue().encode()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            color="#5b6b7b")
    ax.set_xticks([])
    ax.set_yticks([])


def traffic(series: Series, labels: dict[str, str], *, every: int) -> bytes:
    """Accepted and refused packages per bucket, stacked bars."""
    fig, ax = _figure()
    xs = list(range(len(series.keys)))
    ax.bar(xs, series.accepted, color=ACCEPTED, label=labels["accepted"], width=0.8)
    ax.bar(xs, series.refused, bottom=series.accepted, color=REFUSED,
           label=labels["refused"], width=0.8)
    ticks = xs[::every]
    ax.set_xticks(ticks, [_short(series.keys[i]) for i in ticks], rotation=0)
    ax.set_ylabel(labels["packages"])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False, ncols=2)
    return _svg(fig)


def _short(key: str) -> str:
    # "2026-11-24T09" → "24/11 09h"; "2026-11-24" → "24/11" (how dates are read in Vietnam)
    day = f"{key[8:10]}/{key[5:7]}"
    return f"{day} {key[11:13]}h" if "T" in key else day


def refusals(by_code: Sequence[tuple[str, int]], labels: dict[str, str]) -> bytes:
    """Refusals of the last 30 days by error code, the most frequent on top."""
    top = list(by_code[:12])
    fig, ax = _figure(height=max(2.0, 0.8 + 0.28 * len(top)))
    if not top:
        _empty(ax, labels["none"])
        return _svg(fig)
    codes = [c for c, _ in reversed(top)]
    ax.barh(codes, [n for _, n in reversed(top)], color=REFUSED)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#d5dde5", linewidth=0.6)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(labels["refused"])
    return _svg(fig)


def latency(days: Sequence[LatencyDay], labels: dict[str, str]) -> bytes:
    """Median and 95th percentile of accepted → delivered, per day, in minutes."""
    fig, ax = _figure()
    shown = [d for d in days if d.count]
    if not shown:
        _empty(ax, labels["none"])
        return _svg(fig)
    xs = list(range(len(days)))
    with_data = [i for i, d in enumerate(days) if d.count]
    ax.plot(with_data, [days[i].median_s / 60 for i in with_data], marker="o",
            color=P50, label=labels["median"])
    ax.plot(with_data, [days[i].p95_s / 60 for i in with_data], marker="s",
            color=P95, label=labels["p95"])
    ticks = xs[::5]
    ax.set_xticks(ticks, [_short(days[i].day) for i in ticks])
    ax.set_xlim(-0.5, len(days) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(labels["minutes"])
    ax.legend(loc="upper left", frameon=False, ncols=2)
    return _svg(fig)


def waiting(rows: Sequence[Waiting], labels: dict[str, str]) -> bytes:
    """Copies waiting per recipient (the 15 with the most)."""
    top = list(rows[:15])
    fig, ax = _figure(height=max(2.0, 0.8 + 0.28 * len(top)))
    if not top:
        _empty(ax, labels["none"])
        return _svg(fig)
    ax.barh([w.agency_id for w in reversed(top)], [w.count for w in reversed(top)],
            color=ACCEPTED)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#d5dde5", linewidth=0.6)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(labels["waiting"])
    return _svg(fig)
