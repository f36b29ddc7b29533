"""What a rendered task report shows: the report (axis/tasks/report.py), the tasks behind
its codes, and the drill-down rows that prove every number (Art. 14.3.đ; issue 12, item 5).

The core's `Report` keeps, per agency and bucket, the task codes; a published report must
also show what each task is and which documents prove where it was counted: the assigning
document, the approved reply whose acceptance by the node is the completion time (13.4),
the documents that set the deadline in force (13.5). Only what had happened at the
report's `as_of` is shown, as the classification itself does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from axis.clock import as_vietnam
from axis.tasks.lifecycle import Action, Task
from axis.tasks.report import TOTAL, Bucket, Period, Report, Row, build_report

# The national table's order (Art. 14.3.đ practice), "not yet due" last.
BUCKETS: tuple[Bucket, ...] = (
    Bucket.COMPLETED_ON_TIME, Bucket.COMPLETED_LATE, Bucket.OPEN_WITHIN_DEADLINE,
    Bucket.OPEN_OVERDUE, Bucket.NOT_YET_DUE,
)


@dataclass(frozen=True, slots=True)
class ReportData:
    """A report and the tasks it was built from, by code; `names`: agency id → name
    (from the registry; a task's own lead name is used when missing)."""

    report: Report
    tasks: Mapping[str, Task]
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    issuer: str = ""  # who publishes it, e.g. "Văn phòng UBND tỉnh Lạng Sơn"

    def name(self, agency: str) -> str:
        if agency in self.names:
            return self.names[agency]
        for task in self.tasks.values():
            if task.lead.organ_id == agency and task.lead.name:
                return task.lead.name
        return agency


def report_data(tasks: Iterable[Task], period: Period, as_of: datetime, *,
                agency: str | None = None, names: Mapping[str, str] | None = None,
                issuer: str = "") -> ReportData:
    """Classify `tasks` (only `agency`'s as lead, when given) and keep them for the
    drill-down."""
    kept = [t for t in tasks if agency is None or t.lead.organ_id == agency]
    report = build_report(kept, period, as_of)
    return ReportData(report, MappingProxyType({t.code: t for t in kept}),
                      MappingProxyType(dict(names or {})), issuer)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One document in a task's history up to the report's `as_of`."""

    at: datetime
    action: Action
    document_id: str


@dataclass(frozen=True, slots=True)
class DrillRow:
    """One task behind one number: the row of the drill-down list."""

    agency: str
    agency_name: str
    bucket: Bucket
    code: str
    content: str
    assigning_document: str
    assigned_at: datetime
    original_deadline: date
    deadline: date  # in force at `as_of`
    deadline_documents: tuple[str, ...]  # the approved extensions' documents (13.5)
    completed_at: datetime | None  # the approved reply's acceptance by the node (13.4)
    completion_document: str  # that reply
    evidence: tuple[Evidence, ...]


def drill_rows(data: ReportData, agency: str | None = None) -> tuple[DrillRow, ...]:
    """The tasks behind every number of `agency`'s row (every agency's when None), in the
    order: agency, bucket (national order), task code."""
    report = data.report
    rows = [r for r in report.rows if agency is None or r.agency == agency]
    out: list[DrillRow] = []
    for row in rows:
        for bucket in BUCKETS:
            for code in row.codes.get(bucket, ()):
                out.append(_drill(data, row.agency, bucket, data.tasks[code]))
    return tuple(out)


def rows_with_total(report: Report) -> tuple[Row, ...]:
    return (*report.rows, report.total)


def is_total(row: Row) -> bool:
    return row.agency == TOTAL


def _drill(data: ReportData, agency: str, bucket: Bucket, task: Task) -> DrillRow:
    as_of = data.report.as_of
    seen = [t for t in task.history if as_vietnam(t.at) <= as_of]
    changes = [c for c in task.deadline_changes if as_vietnam(c.at) <= as_of]
    done = bucket in (Bucket.COMPLETED_ON_TIME, Bucket.COMPLETED_LATE)
    approved = next((t for t in reversed(seen) if t.action is Action.COMPLETION_APPROVED),
                    None)
    return DrillRow(
        agency=agency,
        agency_name=data.name(agency),
        bucket=bucket,
        code=task.code,
        content=task.content,
        assigning_document=task.document_id,
        assigned_at=task.assigned_at,
        original_deadline=task.original_deadline,
        deadline=changes[-1].new if changes else task.original_deadline,
        deadline_documents=tuple(c.document_id for c in changes),
        completed_at=task.completed_at if done else None,
        completion_document=approved.document_id if done and approved else "",
        evidence=tuple(Evidence(t.at, t.action, t.document_id)
                       for t in seen if t.document_id),
    )
