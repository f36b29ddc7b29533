"""`axis edxml new --tasks FILE` and `--answers`: packages carrying the task extension,
made from JSON (axis/tasks/jsonform.py) and validated before a byte is written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tasks_support import DOC_ID, KE_HOACH, TAI_CHINH, UBND

from adapters.cli import main
from axis.edxml.model import DocumentPackage
from axis.edxml.validate import Validator
from axis.settings import EdxmlSettings
from axis.tasks.extension import read_extension
from axis.tasks.model import EventType

TASKS: list[dict[str, Any]] = [
    {"content": "Báo cáo giải ngân vốn đầu tư công.", "deadline": "2026-12-15",
     "lead": {"organ_id": TAI_CHINH, "name": "Sở Tài chính"}, "supporting": [KE_HOACH],
     "follower": {"name": "Nguyễn Thị Lan", "email": "lannt@langson.gov.vn"}},
    {"code": "H37-KT-2026-99", "content": "Kế hoạch trung hạn.", "deadline": "2026-12-31",
     "lead": KE_HOACH, "follower": "Trần Văn Minh"},
]


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_document_with_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "assign.edxml"
    assert main(["edxml", "new", "--from", UBND, "--to", TAI_CHINH, "--to", KE_HOACH,
                 "--subject", "Giao nhiệm vụ", "--document-id", DOC_ID,
                 "--tasks", str(_write(tmp_path, "tasks.json", TASKS)), "-o", str(out)]) == 0
    tasks = read_extension(out.read_bytes()).tasks
    # No code given: minted from the document (issuer, date, number, position).
    assert [t.code for t in tasks] == ["000.00.00.H37-20261201-123-01", "H37-KT-2026-99"]
    assert tasks[0].supporting[0].organ_id == KE_HOACH and tasks[1].follower.name == (
        "Trần Văn Minh")
    assert tasks[0].deadline == date(2026, 12, 15)
    assert json.loads(capsys.readouterr().out)["document_id"] == DOC_ID


def test_a_reply_and_a_status_with_events(tmp_path: Path) -> None:
    reply = tmp_path / "reply.edxml"
    assert main(["edxml", "new", "--from", TAI_CHINH, "--to", UBND, "--subject", "Báo cáo",
                 "--answers", "000.00.00.H37-20261201-123-01", "-o", str(reply)]) == 0
    package = Validator(EdxmlSettings()).check(reply.read_bytes()).package
    assert isinstance(package, DocumentPackage)
    assert package.header.response_for_task == ("000.00.00.H37-20261201-123-01",)
    status = tmp_path / "status.edxml"
    events = [{"task": "000.00.00.H37-20261201-123-01", "type": "extension-requested",
               "new_deadline": "2026-12-31", "documents": ["000.00.03.H37,2026/12/10,4/STC"]}]
    assert main(["edxml", "new", "--from", TAI_CHINH, "--status", "05", "--response-for",
                 DOC_ID, "--tasks", str(_write(tmp_path, "ev.json", events)),
                 "-o", str(status)]) == 0
    event, = read_extension(status.read_bytes()).events
    assert event.type is EventType.EXTENSION_REQUESTED
    assert event.new_deadline == date(2026, 12, 31)


@pytest.mark.parametrize(("data", "fragment"), [
    ([{**TASKS[0], "deadline": "15/12/2026"}], "not a date"),
    ([{**TASKS[0], "colour": "red"}], "unknown colour"),
    ([{**TASKS[0], "lead": ""}], "lead"),
    ({"tasks": []}, "a list expected"),
    ([{**TASKS[0], "code": "has spaces"}], "pattern"),
])
def test_bad_tasks_are_refused_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object, fragment: str) -> None:
    out = tmp_path / "x.edxml"
    assert main(["edxml", "new", "--from", UBND, "--to", TAI_CHINH, "--subject", "x",
                 "--tasks", str(_write(tmp_path, "t.json", data)), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "task.extension_invalid" in err and fragment in err
    assert not out.exists()


def test_unreadable_json_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text("[{", encoding="utf-8")
    assert main(["edxml", "new", "--from", UBND, "--to", TAI_CHINH, "--subject", "x",
                 "--tasks", str(bad)]) == 2
