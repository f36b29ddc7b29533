"""Inspection dates (Art. 16.4-16.5) on the office's working calendar.

- 16.4.a: the notice goes out 7 WORKING days before the inspection, at the latest;
- 16.4.b: the inspected agency's report is due at the latest 3 days before the
  inspection; the text says days, not working days, so calendar days (it may fall on a
  day off: `report_due_is_working_day` says so, the date is not moved);
- 16.5: the team reports the results within 5 WORKING days after the inspection ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from axis.calendar import WorkCalendar

NOTICE_WORKING_DAYS = 7  # Art. 16.4.a
REPORT_DAYS = 3  # Art. 16.4.b (calendar days)
RESULTS_WORKING_DAYS = 5  # Art. 16.5


@dataclass(frozen=True, slots=True)
class InspectionDates:
    inspection: date
    ends: date
    notice_by: date
    report_due: date
    report_due_is_working_day: bool
    results_due: date

    def as_dict(self) -> dict[str, object]:
        return {
            "inspection": self.inspection.isoformat(),
            "ends": self.ends.isoformat(),
            "notice_by": self.notice_by.isoformat(),
            "report_due": self.report_due.isoformat(),
            "report_due_is_working_day": self.report_due_is_working_day,
            "results_due": self.results_due.isoformat(),
        }


def inspection_dates(inspection: date, calendar: WorkCalendar,
                     ends: date | None = None) -> InspectionDates:
    """The Art. 16 dates of an inspection on `inspection` (lasting until `ends`)."""
    last = ends or inspection
    if last < inspection:
        raise ValueError(f"the inspection ends ({last}) before it starts ({inspection})")
    report_due = inspection - timedelta(days=REPORT_DAYS)
    return InspectionDates(
        inspection=inspection,
        ends=last,
        notice_by=calendar.add_working_days(inspection, -NOTICE_WORKING_DAYS),
        report_due=report_due,
        report_due_is_working_day=calendar.is_working_day(report_due),
        results_due=calendar.add_working_days(last, RESULTS_WORKING_DAYS),
    )
