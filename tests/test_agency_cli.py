"""`axis registry credentials issue|revoke` and `axis agency …` against a real uvicorn
server on 127.0.0.1, as someone trying the node by hand would use them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from exchange_support import NOI_VU, UBND, make_pki, start_node
from rest_support import RestNode, serve

from adapters.cli import main
from axis.clock import VN_TZ


@pytest.fixture()
def rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RestNode]:
    pki_dir = tmp_path / "pki"
    pki_dir.mkdir()
    t = start_node(tmp_path, pki_dir, make_pki(pki_dir))
    # The command signs with the real clock: move the node's clock to now.
    t.clock.advance(datetime.now(VN_TZ) - t.clock.now())
    monkeypatch.setenv("AXIS_DATA_DIR", str(t.node.settings.data_dir))
    with serve(t) as r:
        yield r
    t.node.close()


def axis(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def issue(capsys: pytest.CaptureFixture[str], agency: str) -> list[str]:
    code, out, err = axis(capsys, "registry", "credentials", "issue", agency,
                          "--reason", "kết nối QLVB", "--actor", "test")
    assert code == 0 and "shown this once" in err
    cred = json.loads(out)
    assert cred["agency_id"] == agency and cred["issued_at"].endswith("+07:00")
    return ["--system-id", cred["system_id"], "--secret", cred["secret"]]


def test_by_hand(rest: RestNode, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = rest.t
    url = ["agency", "--url", rest.url]
    ubnd, noi_vu = url + issue(capsys, UBND), url + issue(capsys, NOI_VU)

    doc_id, raw = t.document(UBND, (NOI_VU,), 501)
    package = tmp_path / "van-ban-501.xml"
    package.write_bytes(raw)
    code, out, _ = axis(capsys, *ubnd, "send", str(package))
    assert code == 0
    receipt = json.loads(out)
    assert receipt["document_id"] == doc_id and receipt["deliveries"][0]["recipient"] == NOI_VU
    t.deliver_all()

    code, out, _ = axis(capsys, *noi_vu, "pull")
    waiting = lines(out)
    assert code == 0 and [w["document_id"] for w in waiting] == [doc_id]
    copy = waiting[0]["doc_id"]

    taken = tmp_path / "taken.xml"
    code, out, _ = axis(capsys, *noi_vu, "get", copy, "-o", str(taken))
    assert code == 0 and taken.read_bytes() == raw
    assert json.loads(out)["x-axis-effective-at"].endswith("+07:00")

    sign = ["--key", str(t.pki_dir / f"{NOI_VU}.key"), "--cert", str(t.pki_dir / f"{NOI_VU}.pem")]
    code, out, _ = axis(capsys, *noi_vu, "status", copy, "03", *sign)  # by transport id
    assert code == 0 and json.loads(out)["message_type"] == "status"
    code, out, _ = axis(capsys, *noi_vu, "status", doc_id, "06", "--reason", "Hoàn thành", *sign)
    assert code == 0 and json.loads(out)["deliveries"][0]["recipient"] == UBND
    assert axis(capsys, *noi_vu, "update", copy, "done")[0] == 0

    code, out, _ = axis(capsys, *ubnd, "trail", doc_id)
    events = lines(out)
    assert code == 0
    assert [e["status_code"] for e in events if e["event"] == "status"] == ["01", "03", "06"]

    code, out, _ = axis(capsys, *ubnd, "agencies")
    assert code == 0 and NOI_VU in {a["agency_id"] for a in lines(out)}

    code, _, err = axis(capsys, *noi_vu, "get", "no-such-copy", "-o", str(tmp_path / "x"))
    assert code == 1 and json.loads(err)["code"] == "route.delivery_unknown"

    # Art. 22: revoked, cut off at once.
    code, out, _ = axis(capsys, "registry", "credentials", "revoke", NOI_VU,
                        "--reason", "lộ khóa bí mật", "--actor", "soc")
    assert code == 0 and lines(out)[0]["revoked_at"]
    code, _, err = axis(capsys, *noi_vu, "pull")
    assert code == 1 and json.loads(err)["code"] == "registry.credential_invalid"
    assert axis(capsys, "registry", "credentials", "revoke", NOI_VU, "--reason", "again")[0] == 1


def test_missing_options_and_unreachable_node(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "var"))
    for name in ("AXIS_AGENCY_URL", "AXIS_AGENCY_SYSTEM_ID", "AXIS_AGENCY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = axis(capsys, "agency", "pull")
    assert code == 2 and "--url" in err and "--secret" in err
    code, _, err = axis(capsys, "agency", "--url", "http://127.0.0.1:9", "--system-id", "x",
                        "--secret", "y", "pull")
    assert code == 2 and "127.0.0.1:9" in err
