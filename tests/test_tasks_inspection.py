"""Inspection dates (Art. 16.4-16.5) and `axis calendar inspection`, on the office
calendar as shipped (2026-08-31, 09-01, 09-02 off; Saturday 2026-08-22 worked)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from tasks_support import office_calendar

from adapters.cli import main
from axis.tasks.inspection import inspection_dates


def test_dates_around_the_national_day_holidays() -> None:
    d = inspection_dates(date(2026, 9, 7), office_calendar())
    # 7 working days back from Mon 7 Sep: 4, 3 Sep, then 28, 27, 26, 25, 24 Aug.
    assert d.notice_by == date(2026, 8, 24)
    assert d.report_due == date(2026, 9, 4) and d.report_due_is_working_day
    assert d.results_due == date(2026, 9, 14)


def test_a_make_up_saturday_counts_and_a_report_due_on_sunday_is_flagged() -> None:
    cal = office_calendar()
    # Thu 3 Sep: back over the holidays, then 28, 27, 26, 25, 24, Saturday 22 (worked)
    # and 21 Aug; without the make-up Saturday it would be 20 Aug.
    d = inspection_dates(date(2026, 9, 3), cal)
    assert d.notice_by == date(2026, 8, 21)
    # Wed 14 Oct: the report is due 3 calendar days before, Sunday 11 Oct, not moved.
    d = inspection_dates(date(2026, 10, 14), cal)
    assert d.report_due == date(2026, 10, 11) and not d.report_due_is_working_day


def test_a_several_day_inspection_counts_results_from_its_last_day() -> None:
    d = inspection_dates(date(2026, 10, 14), office_calendar(), ends=date(2026, 10, 16))
    assert d.results_due == date(2026, 10, 23)
    with pytest.raises(ValueError):
        inspection_dates(date(2026, 10, 14), office_calendar(), ends=date(2026, 10, 13))


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "inspection", "2026-09-07"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"inspection": "2026-09-07", "ends": "2026-09-07",
                   "notice_by": "2026-08-24", "report_due": "2026-09-04",
                   "report_due_is_working_day": True, "results_due": "2026-09-14"}
    assert main(["calendar", "inspection", "2026-10-14", "--ends", "2026-10-16"]) == 0
    assert json.loads(capsys.readouterr().out)["results_due"] == "2026-10-23"
    assert main(["calendar", "inspection", "2026-02-30"]) == 2
    assert "axis calendar inspection" in capsys.readouterr().err
