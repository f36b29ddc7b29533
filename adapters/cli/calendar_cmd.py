"""`axis calendar inspection DATE [--ends DATE]`: the Art. 16 dates of an inspection.

Prints JSON: the latest notice date (7 working days before), the agency report's due
date (3 days before) and the results' due date (5 working days after it ends), on the
node's office calendar (`clock.calendar_file`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from axis.calendar_file import load_calendar
from axis.settings import Settings
from axis.tasks.inspection import inspection_dates


def register(sub: Any) -> None:
    p = sub.add_parser("calendar", help="working-day dates on the office calendar")
    csub = p.add_subparsers(dest="calendar_command", required=True)
    i = csub.add_parser("inspection", help="notice, report and results dates (Art. 16)")
    i.add_argument("date", metavar="DATE", help="inspection day, YYYY-MM-DD")
    i.add_argument("--ends", metavar="DATE", help="last inspection day (default: DATE)")
    i.set_defaults(handler=run_inspection)


def run_inspection(args: argparse.Namespace, settings: Settings) -> int:
    try:
        day = date.fromisoformat(args.date)
        ends = date.fromisoformat(args.ends) if args.ends else None
        dates = inspection_dates(day, load_calendar(settings.clock.calendar_file), ends)
    except ValueError as exc:
        print(f"axis calendar inspection: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(dates.as_dict(), ensure_ascii=False, indent=2))
    return 0
