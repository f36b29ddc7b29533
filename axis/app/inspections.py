"""Inspection dates (issue 12, item 6; Art. 16.4-16.5) as an operation every edge calls:
the admin API, the agency API and the console's tasks page answer the same dates as
`axis calendar inspection` (axis/tasks/inspection.py), on the node's office calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from axis import errors
from axis.calendar import WorkCalendar
from axis.tasks.inspection import InspectionDates, inspection_dates

# An inspection is planned months ahead at most; a bound keeps the working-day walk of a
# silly date (year 9999) from running the calendar off its end.
YEARS_AROUND = 5


@dataclass(frozen=True, slots=True)
class InspectionOperations:
    calendar: WorkCalendar

    def dates(self, inspection: date, ends: date | None = None, *,
              today: date | None = None) -> InspectionDates:
        """The latest notice date (7 working days before, 16.4.a), the agency report's
        due date (3 days before, 16.4.b) and the results' due date (5 working days after
        the last day, 16.5); `api.invalid_request` for an end before the start or a date
        more than five years from `today`."""
        if today is not None and abs(inspection.year - today.year) > YEARS_AROUND:
            raise errors.API_INVALID_REQUEST.error(
                f"date: {inspection.isoformat()} is more than {YEARS_AROUND} years away")
        try:
            return inspection_dates(inspection, self.calendar, ends)
        except (ValueError, OverflowError) as exc:
            raise errors.API_INVALID_REQUEST.error(f"date: {exc}") from exc
