"""`axis registry …` end to end through `adapters.cli.main`, on a data directory of its own
(SQLite) and once on PostgreSQL through AXIS_DATABASE_URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_support import database_url

from adapters.cli import main

CHANGE = ["--reason", "Công văn 45/STTTT", "--actor", "tester"]


@pytest.fixture()
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    monkeypatch.setenv("AXIS_DATA_DIR", str(data))
    monkeypatch.delenv("AXIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_list_show_and_state_changes(node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "seed")
    assert code == 0 and json.loads(out)["added"] >= 31
    assert (node / "axis.sqlite3").is_file()
    code, out, _ = run(capsys, "seed")  # idempotent
    assert json.loads(out)["added"] == 0 and json.loads(out)["skipped"] >= 31

    code, out, _ = run(capsys, "list", "--kind", "external", "--json")
    assert "000.00.00.G22" in {a["agency_id"] for a in json.loads(out)}

    assert run(capsys, "suspend", "H37.02", *CHANGE)[0] == 0
    code, out, _ = run(capsys, "list", "--state", "suspended")
    assert out.split()[0] == "000.00.02.H37"
    assert run(capsys, "reactivate", "000.00.02.H37", *CHANGE)[0] == 0
    assert run(capsys, "retire", "H37.02", *CHANGE)[0] == 0
    code, _, err = run(capsys, "reactivate", "H37.02", *CHANGE)
    assert code == 1 and "registry.invalid_transition" in err

    code, out, _ = run(capsys, "show", "H37.02")
    assert code == 0 and "retired" in out
    for action in ("add", "suspend", "reactivate", "retire"):
        assert action in out
    assert "tester: Công văn 45/STTTT" in out
    code, out, _ = run(capsys, "show", "000.00.02.H37", "--json")
    shown = json.loads(out)
    assert [h["action"] for h in shown["history"]] == ["add", "suspend", "reactivate", "retire"]
    assert shown["history"][0]["actor"] == "seed"
    assert shown["history"][1]["at"].endswith("+07:00")

    code, _, err = run(capsys, "show", "H37.99")
    assert code == 1 and "registry.unknown_agency" in err


def test_add_bind_and_credentials(node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "seed")
    code, out, _ = run(capsys, "add", "--id", "000.01.11.H37", "--name", "Trung tâm CNTT",
                       "--parent", "H37.11", "--mode", "push",
                       "--endpoint", "https://cntt.example/edxml", *CHANGE)
    assert code == 0 and "H37.11.01" in out
    code, _, err = run(capsys, "add", "--id", "000.01.11.H37", "--name", "lần hai", *CHANGE)
    assert code == 1 and "registry.duplicate_agency" in err
    with pytest.raises(SystemExit) as exited:  # no reason: refused by the parser
        run(capsys, "add", "--id", "000.00.50.H37", "--name", "x")
    assert exited.value.code == 2 and "--reason" in capsys.readouterr().err

    assert run(capsys, "bind", "H37.11.01", "f" * 64, *CHANGE)[0] == 0
    code, out, _ = run(capsys, "issue-credential", "H37.11.01", "--system-id", "cntt", *CHANGE)
    issued = json.loads(out)
    assert issued["system_id"] == "cntt" and len(issued["secret"]) >= 40
    code, out, _ = run(capsys, "show", "H37.11.01", "--json")
    assert issued["secret"] not in out  # never shown again
    assert json.loads(out)["credentials"][0]["revoked_at"] is None
    assert run(capsys, "revoke-credential", "cntt", *CHANGE)[0] == 0
    code, out, _ = run(capsys, "show", "H37.11.01", "--json")
    assert json.loads(out)["credentials"][0]["revoked_at"].endswith("+07:00")
    assert run(capsys, "unbind", "H37.11.01", "f" * 64, *CHANGE)[0] == 0


def test_export_import_round_trip(node: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "seed")
    run(capsys, "suspend", "H37.31", *CHANGE)
    for fmt in ("json", "csv"):
        out_file = tmp_path / f"registry.{fmt}"
        assert run(capsys, "export", "-o", str(out_file))[0] == 0
        code, out, _ = run(capsys, "import", str(out_file))
        report = json.loads(out)
        assert code == 0 and report["added"] == report["updated"] == 0
    code, out, _ = run(capsys, "export", "--format", "csv")
    assert out.startswith("agency_id,short_id,name,")
    assert "000.00.31.H37,H37.31,Ủy ban nhân dân thành phố Lạng Sơn" in out


def test_a_bad_import_writes_nothing_and_names_the_rows(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("agency_id,name,parent_id\n000.00.00.H37,UBND tỉnh,\n"
                   "H37.05,sai dạng,\n000.00.06.H37,Sở Công Thương,000.00.00.H37\n",
                   encoding="utf-8")
    code, _, err = run(capsys, "import", str(bad), *CHANGE)
    assert code == 1 and "registry.import_invalid" in err
    assert "line 3: registry.invalid_identifier" in err
    code, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []
    code, _, err = run(capsys, "import", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


@pytest.fixture()
def pg_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with database_url("postgresql", tmp_path) as url:
        monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("AXIS_DATABASE_URL", url)
        monkeypatch.delenv("AXIS_CONFIG", raising=False)
        yield url


def test_the_cli_on_postgresql(pg_node: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "seed")
    assert code == 0 and json.loads(out)["added"] >= 31
    assert run(capsys, "suspend", "G22", *CHANGE)[0] == 0
    code, out, _ = run(capsys, "show", "000.00.00.G22", "--json")
    assert json.loads(out)["agency"]["state"] == "suspended"
