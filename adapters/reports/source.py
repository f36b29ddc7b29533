"""A report's data from the task store (the `TaskStore` port): the one way the CLI and the
console get what they render, so both publish the same numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

from adapters.reports.data import ReportData, report_data
from axis.clock import VN_TZ, as_vietnam
from axis.tasks.ports import TaskStore
from axis.tasks.report import Period, cut_of


def load_report(store: TaskStore, period: Period, as_of: datetime, *,
                agency: str | None = None, names: Mapping[str, str] | None = None,
                issuer: str = "") -> ReportData:
    """The report of `period` as known at `as_of` (every agency, or `agency` as lead).

    The store returns every task the window may count: assigned before the cut, not
    completed before the period (overdue tasks of earlier periods included); the core
    classifies them (axis/tasks/report.py)."""
    as_of = as_vietnam(as_of)
    start = datetime.combine(period.start, time(0), VN_TZ)
    tasks = store.tasks_for_report(start, cut_of(period, as_of))
    return report_data(tasks, period, as_of, agency=agency, names=names, issuer=issuer)
