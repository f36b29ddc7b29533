"""The simulated national axis (tools/vdxp_sim) against the SDK-like connector, both written
from vdxp.md only. The simulator runs as a real subprocess on 127.0.0.1; readiness is its
"vdxp-sim running on" line plus a successful connect, polled with a deadline.

Parties: the Government Office's system "vpcp" (center G22: serves 000.00.00.G22 and
000.00.00.G17), Nghệ An's provincial axis "axis-h41" (center H41) and Lạng Sơn's
"axis-h37" (center H37). Nobody serves 000.00.00.H14 at the start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import federation_support
import httpx
import pytest

from tools.vdxp_sim.connector import ConnectorError, SdkConnector, sdk_timestamp

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path("/work/shared/fixtures/edxml")
START_S = 60.0

# From 000.00.00.G22, To 000.00.00.H41, 000.00.00.H14, 000.00.00.G17.
EDOC = FIXTURES / "edoc-business-first-zipped.edxml"
# From 000.00.00.H41, ResponseFor/OrganId 000.00.00.G22 (status 01).
STATUS = FIXTURES / "status-01.edxml"
G22, G17, H41, H14 = "000.00.00.G22", "000.00.00.G17", "000.00.00.H41", "000.00.00.H14"

SECRETS = {"vpcp": "vpcp-secret", "axis-h41": "h41-secret", "axis-h37": "h37-secret"}
CONFIG: dict[str, Any] = {
    "systems": [
        {"system_id": "vpcp", "secret": SECRETS["vpcp"], "center": "G22"},
        {"system_id": "axis-h41", "secret": SECRETS["axis-h41"], "center": "H41"},
        {"system_id": "axis-h37", "secret": SECRETS["axis-h37"], "center": "H37"},
    ],
    "units": [
        {"id": 1, "code": G22, "pid": 0, "name": "Văn phòng Chính phủ", "mail": "vpcp@gov.vn",
         "centerCode": "G22", "version": 1, "deleted": False, "modifyDate": "2025-01-01",
         "isAgency": True},
        {"id": 2, "code": G17, "pid": 0, "name": "Bộ G17", "mail": "g17@gov.vn",
         "centerCode": "G22", "version": 1, "deleted": False, "modifyDate": "2025-01-01",
         "isAgency": True},
        {"id": 3, "code": H41, "pid": 0, "name": "UBND tỉnh Nghệ An", "mail": "na@gov.vn",
         "centerCode": "H41", "version": 1, "deleted": False, "modifyDate": "2025-01-01",
         "isAgency": True},
        {"id": 4, "code": "000.00.00.H37", "pid": 0, "name": "UBND tỉnh Lạng Sơn",
         "mail": "ls@gov.vn", "centerCode": "H37", "version": 1, "deleted": False,
         "modifyDate": "2025-01-01", "isAgency": True},
        {"id": 5, "code": "000.00.01.H37", "pid": 4, "name": "Sở Nội vụ Lạng Sơn",
         "mail": "snv@langson.gov.vn", "centerCode": "H37", "version": 1, "deleted": False,
         "modifyDate": "2025-01-01", "isAgency": True},
    ],
    "timestamp_window_hours": 48,
}


class Sim(federation_support.Sim):
    """The simulator as a child process (tests/federation_support.py), with this file's
    parties; kill -9 and restart on the same port and data."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, CONFIG)

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.url + "/_sim/state", timeout=10).json()
        return result

    def connector(self, system_id: str, **kw: Any) -> SdkConnector:
        return SdkConnector(self.url, system_id, kw.pop("secret", SECRETS[system_id]), **kw)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    s = Sim(tmp_path)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def _ok(env: dict[str, Any]) -> dict[str, Any]:
    assert env["status"] == "OK", env
    assert env["ErrorCode"] == "0", env
    return env


def _fail(env: dict[str, Any], code: str) -> None:
    assert env["status"] == "FAIL", env
    assert env["ErrorCode"] == code, env


def test_send_fan_out_fetch_byte_identical_and_ack(sim: Sim) -> None:
    raw = EDOC.read_bytes()
    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41:
        doc_id = _ok(vpcp.send_edoc(raw, sender=G22, to=None))["DocId"]

        items = _ok(h41.get_received_edoc_list("edoc"))["data"]
        assert [(i["from"], i["to"], i["messageType"], i["serviceType"]) for i in items] == [
            (G22, H41, "edoc", "eDoc")]
        item = items[0]
        assert set(item) == {"docId", "serviceType", "messageType", "from", "to", "status",
                             "status_desc", "created_time", "updated_time"}
        assert item["docId"] != doc_id  # the recipient's own transport id
        assert _ok(h41.get_received_edoc_list("status"))["data"] == []
        # The sender's center serves G17: it gets that copy itself.
        assert [i["to"] for i in _ok(vpcp.get_received_edoc_list())["data"]] == [G17]

        fetched = _ok(h41.get_edoc(item["docId"]))["data"]
        assert fetched.encode("utf-8") == raw
        assert h41.download_edoc(item["docId"]) == raw
        assert vpcp.download_edoc(doc_id) == raw  # the sender may read its own package
        assert _ok(h41.count_receive_edoc())["count"] == 1

        _ok(h41.update_status(item["docId"], "processing"))
        listed = _ok(h41.get_received_edoc_list())["data"]
        assert [(i["docId"], i["status"]) for i in listed] == [(item["docId"], "processing")]
        _ok(h41.update_status(item["docId"], "done"))
        assert _ok(h41.get_received_edoc_list())["data"] == []
        assert _ok(h41.count_receive_edoc())["count"] == 0
        _ok(h41.update_status(item["docId"], "done"))  # repeating done is harmless
        _fail(h41.update_status(item["docId"], "processing"), "119")
        # Acknowledged does not mean forgotten: the package can still be fetched.
        assert h41.download_edoc(item["docId"]) == raw

        sent = {r["toCode"]: r for r in _ok(vpcp.get_sent_edoc_list())["data"]}
        assert set(sent) == {H41, H14, G17}
        assert {r["senderDocId"] for r in sent.values()} == {doc_id}
        assert sent[H41]["receiverDocId"] == item["docId"]
        assert (sent[H41]["sendStatus"], sent[H41]["receiveStatus"]) == ("sent", "done")
        assert sent[H41]["receivedTime"]
        assert (sent[H14]["sendStatus"], sent[H14]["receiverDocId"]) == ("fail", "")
        assert sent[H14]["receiveStatus"] == "undeliverable"
        assert sent[G17]["receiveStatus"] == "pending"
        assert sent[H41]["notation"] and sent[H41]["title"]
        assert _ok(h41.get_sent_edoc_list())["data"] == []


def test_fail_keeps_the_item_listed(sim: Sim) -> None:
    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41:
        _ok(vpcp.send_edoc(EDOC.read_bytes(), sender=G22, to=None))
        doc = _ok(h41.get_received_edoc_list())["data"][0]["docId"]
        _ok(h41.update_status(doc, "fail"))
        assert [i["status"] for i in _ok(h41.get_received_edoc_list())["data"]] == ["fail"]
        _fail(h41.update_status(doc, "archived"), "112")
        _ok(h41.update_status(doc, "done"))
        assert _ok(h41.get_received_edoc_list())["data"] == []


def test_status_package_goes_to_the_original_sender(sim: Sim) -> None:
    raw = STATUS.read_bytes()
    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41:
        # A status sent as "edoc" is refused: the kind must match the package.
        _fail(h41.send_edoc(raw, sender=H41, to=None, messagetype="edoc"), "113")
        doc_id = _ok(h41.send_edoc(raw, sender=H41, to=[G22], messagetype="status"))["DocId"]
        assert _ok(vpcp.get_received_edoc_list("edoc"))["data"] == []
        items = _ok(vpcp.get_received_edoc_list("status"))["data"]
        assert [(i["from"], i["to"], i["messageType"]) for i in items] == [
            (H41, G22, "status")]
        assert _ok(vpcp.count_receive_status())["count"] == 1
        assert _ok(vpcp.get_edoc(items[0]["docId"]))["data"].encode("utf-8") == raw
        _ok(vpcp.update_status(items[0]["docId"], "done"))
        assert _ok(vpcp.count_receive_status())["count"] == 0
        rows = _ok(h41.get_sent_edoc_list())["data"]
        assert [(r["senderDocId"], r["toCode"], r["receiveStatus"]) for r in rows] == [
            (doc_id, G22, "done")]


def test_duplicate_send_answers_the_first_doc_id_and_lists_nothing_new(sim: Sim) -> None:
    raw = EDOC.read_bytes()
    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41:
        first = _ok(vpcp.send_edoc(raw, sender=G22, to=None))
        assert "Duplicate" not in first
        before = sim.state()
        again = _ok(vpcp.send_edoc(raw, sender=G22, to=None))
        assert (again["DocId"], again["Duplicate"]) == (first["DocId"], True)
        assert sim.state()["packages"] == before["packages"] == 1
        assert sim.state()["listed"] == before["listed"]
        assert len(_ok(h41.get_received_edoc_list())["data"]) == 1
        # Another byte of difference is another package.
        other = _ok(vpcp.send_edoc(raw + b"\n", sender=G22, to=None))
        assert other["DocId"] != first["DocId"]
        assert len(_ok(h41.get_received_edoc_list())["data"]) == 2


def test_to_header_narrows_and_must_be_named_by_the_package(sim: Sim) -> None:
    raw = EDOC.read_bytes()
    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41, \
            sim.connector("axis-h37") as h37:
        _fail(vpcp.send_edoc(raw, sender=G22, to=["000.00.00.H37"]), "121")
        _fail(vpcp.send_edoc(raw, sender=G22, to=None, messagetype="memo"), "113")
        # H37 takes over H14 (unserved), then a send narrowed to H14 reaches H37 only.
        _ok(h37.register_agency(code=H14, name="UBND tỉnh H14", mail="h14@gov.vn"))
        doc_id = _ok(vpcp.send_edoc(raw, sender=G22, to=[H14]))["DocId"]
        assert [i["to"] for i in _ok(h37.get_received_edoc_list())["data"]] == [H14]
        assert _ok(h41.get_received_edoc_list())["data"] == []
        rows = _ok(vpcp.get_sent_edoc_list())["data"]
        assert [(r["senderDocId"], r["toCode"]) for r in rows] == [(doc_id, H14)]
        # The sender must be served by the caller and be the package's From.
        _fail(h41.send_edoc(raw, sender=G22, to=None), "116")
        _fail(vpcp.send_edoc(raw, sender=G17, to=None), "117")


def test_registry_operations(sim: Sim) -> None:
    new = "000.00.02.H37"
    with sim.connector("axis-h37") as h37, sim.connector("axis-h41") as h41:
        agencies = _ok(h37.get_agencies_list())["data"]
        assert {a["code"] for a in agencies} == {G22, G17, H41, "000.00.00.H37",
                                                 "000.00.01.H37"}
        assert set(agencies[0]) == {"id", "code", "pid", "name", "mail", "oldCode"}
        level1 = {a["code"] for a in _ok(h37.get_agencies_list(level="1"))["data"]}
        assert "000.00.01.H37" not in level1 and "000.00.00.H37" in level1
        qd20 = _ok(h37.get_agencies_list(qd20=True))["data"]
        assert all(a["code102"] == a["code"] for a in qd20)

        _ok(h37.register_agency(id=77, code=new, name="Sở Tư pháp", mail="stp@ls.gov.vn"))
        units = {u["code"]: u for u in _ok(h41.get_synchronize_unit())["data"]}
        assert (units[new]["centerCode"], units[new]["version"], units[new]["deleted"]) == (
            "H37", 1, False)
        assert set(units[new]) == {"id", "pid", "code", "name", "mail", "centerCode",
                                   "version", "deleted", "modifyDate", "isAgency"}
        _ok(h37.register_agency(code=new, name="Sở Tư pháp tỉnh Lạng Sơn"))
        assert {u["code"]: u for u in _ok(h37.get_synchronize_unit())["data"]}[new][
            "version"] == 2

        _fail(h41.register_agency(code=new), "122")  # served by another center
        _fail(h41.register_agency(code="000.00.03.H41", pcode="axis-h37"), "115")
        _fail(h41.register_agency(name="no code"), "115")
        _fail(h41.delete_agency(new), "122")
        _fail(h37.delete_agency("000.00.99.H37"), "114")

        _ok(h37.delete_agency(new))
        unit = {u["code"]: u for u in _ok(h37.get_synchronize_unit())["data"]}[new]
        assert (unit["deleted"], unit["version"]) == (True, 3)
        assert new not in {a["code"] for a in _ok(h37.get_agencies_list())["data"]}
        # Released: another province may now claim it.
        _ok(h41.register_agency(code=new))
        unit = {u["code"]: u for u in _ok(h37.get_synchronize_unit())["data"]}[new]
        assert (unit["deleted"], unit["centerCode"], unit["version"]) == (False, "H41", 4)


def test_refusals_have_distinct_codes_and_change_nothing(sim: Sim) -> None:
    raw = EDOC.read_bytes()
    codes: dict[str, str] = {}

    def post(conn: SdkConnector, op: str, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
        result: dict[str, Any] = conn.http.post(conn.url(op), headers=headers, **kw).json()
        return result

    def refused(name: str, env: dict[str, Any], code: str) -> None:
        _fail(env, code)
        codes[name] = code

    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41:
        _ok(vpcp.send_edoc(raw, sender=G22, to=None))
        doc = _ok(h41.get_received_edoc_list())["data"][0]["docId"]
        before = sim.state()

        h = h41.headers_for("updateStatus", {"docId": doc, "status": "processing"})
        refused("missing signature", post(h41, "updateStatus", {
            k: v for k, v in h.items() if "sign" not in k and "hash-header" not in k}), "100")
        with sim.connector("axis-h41", secret="h41-secret", timestamp=None) as stranger:
            stranger.system_id = "axis-h99"
            refused("unknown system", stranger.update_status(doc, "done"), "101")
        with sim.connector("axis-h41", timestamp="2026-11-30T10:00:00") as bad_ts:
            refused("timestamp format", bad_ts.update_status(doc, "done"), "102")
        stale = sdk_timestamp(datetime.now(UTC) - timedelta(hours=49))
        with sim.connector("axis-h41", timestamp=stale) as old:
            refused("stale timestamp", old.update_status(doc, "done"), "103")
        with sim.connector("axis-h41", secret="not-the-secret") as wrong:
            refused("wrong secret", wrong.update_status(doc, "done"), "104")

        forged = dict(h, **{"XroadVnpt-hash-header": "0" * 64})
        refused("forged mac", post(h41, "updateStatus", forged), "104")
        tampered = dict(h, **{"status": "done", "XroadVnpt-status": "done"})
        refused("tampered value", post(h41, "updateStatus", tampered), "105")
        one_copy = dict(h, **{"XroadVnpt-status": "done"})
        refused("copies differ", post(h41, "updateStatus", one_copy), "105")
        unsigned = h41.headers_for("updateStatus", {"docId": doc})
        unsigned.update({"status": "done", "XroadVnpt-status": "done"})
        refused("unsigned parameter", post(h41, "updateStatus", unsigned), "106")

        other = raw.replace(b"<", b" <", 1)
        params = {"from": G22, "servicetype": "eDoc", "messagetype": "edoc",
                  "hash-file": hashlib.sha256(raw).hexdigest()}
        refused("wrong hash-file", post(
            vpcp, "sendEdoc", vpcp.headers_for("sendEdoc", params),
            files={"file_doc": ("x.edxml", other, "application/octet-stream")}), "107")
        refused("no file_doc", post(
            vpcp, "sendEdoc", vpcp.headers_for("sendEdoc", params),
            files={"document": ("x.edxml", raw, "application/octet-stream")}), "108")
        refused("not edxml", vpcp.send_edoc(b"<html/>", sender=G22, to=None), "109")
        refused("unknown docId", h41.update_status("no-such-doc", "done"), "111")
        # Another system's item is as unknown as a made-up one.
        refused("foreign docId", vpcp.get_edoc(doc), "111")
        refused("unknown operation", h41.call("deleteEverything"), "118")

        # Nothing above changed anything; the genuine request still works after.
        assert sim.state()["listed"] == before["listed"]
        assert sim.state()["packages"] == before["packages"]
        listed = _ok(h41.get_received_edoc_list())["data"]
        assert [(i["docId"], i["status"]) for i in listed] == [(doc, "pending")]
        _ok(h41.http.post(h41.url("updateStatus"), headers=h).json())

    # Each kind of failure has its own code; the variants of one kind share it.
    assert sorted(set(codes.values())) == [
        "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "111", "118"]


def test_kill9_and_restart_keep_packages_lists_acks_and_registry(sim: Sim) -> None:
    raw, status = EDOC.read_bytes(), STATUS.read_bytes()
    with sim.connector("vpcp") as vpcp, sim.connector("axis-h41") as h41, \
            sim.connector("axis-h37") as h37:
        doc_id = _ok(vpcp.send_edoc(raw, sender=G22, to=None))["DocId"]
        _ok(h41.send_edoc(status, sender=H41, to=None, messagetype="status"))
        h41_doc = _ok(h41.get_received_edoc_list())["data"][0]["docId"]
        _ok(h41.update_status(h41_doc, "processing"))
        g17_doc = _ok(vpcp.get_received_edoc_list())["data"][0]["docId"]
        _ok(vpcp.update_status(g17_doc, "done"))
        _ok(h37.register_agency(code=H14))
        before_state = sim.state()
        before_sent = _ok(vpcp.get_sent_edoc_list())["data"]

        sim.kill9()
        with pytest.raises(httpx.ConnectError):
            h41.get_received_edoc_list()
        sim.start()

        assert sim.state() == {**before_state, "calls": sim.state()["calls"]}
        listed = _ok(h41.get_received_edoc_list())["data"]
        assert [(i["docId"], i["status"]) for i in listed] == [(h41_doc, "processing")]
        assert h41.download_edoc(h41_doc) == raw
        assert _ok(vpcp.get_received_edoc_list())["data"] == []  # the done ack survived
        assert _ok(vpcp.get_edoc(_ok(vpcp.get_received_edoc_list("status"))["data"][0][
            "docId"]))["data"].encode("utf-8") == status
        assert _ok(vpcp.get_sent_edoc_list())["data"] == before_sent
        # The duplicate check reads the store, not memory.
        assert _ok(vpcp.send_edoc(raw, sender=G22, to=None))["DocId"] == doc_id
        units = {u["code"]: u for u in _ok(h37.get_synchronize_unit())["data"]}
        assert units[H14]["centerCode"] == "H37"
        _ok(h41.update_status(h41_doc, "done"))
        assert _ok(h41.get_received_edoc_list())["data"] == []


def test_connector_sends_what_the_sdk_sends(sim: Sim) -> None:
    conn = SdkConnector(sim.url, "vpcp", SECRETS["vpcp"], timestamp="30112026T101500+0042")
    h = conn.headers_for("getEdoc", {"docId": "abc"})
    assert h["docId"] == h["XroadVnpt-docId"] == "abc"
    assert h["User-Agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert h["XroadVnpt-version"] == "3.0.201608"
    assert h["XroadVnpt-timestamp"] == "30112026T101500+0042"
    signed = json.loads(h["XroadVnpt-sign-header"])
    assert set(h["XroadVnpt-sign-header-key"].split(";")) == set(signed)
    assert signed["docId"] == "abc"
    # The timestamp is fixed at construction, as the SDK's service object does.
    live = SdkConnector(sim.url, "vpcp", SECRETS["vpcp"])
    assert live.headers_for("getEdoc")["XroadVnpt-timestamp"] == live.headers_for(
        "getSentEdocList")["XroadVnpt-timestamp"]
    with pytest.raises(ConnectorError):
        live.download_edoc("no-such-doc")
    conn.close()
    live.close()


def test_make_app_in_process_with_an_injected_clock(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tools.vdxp_sim import make_app
    from tools.vdxp_sim.config import config_from_dict

    now = [datetime(2026, 11, 30, 10, 0, tzinfo=timezone(timedelta(hours=7)))]
    app = make_app(config_from_dict(CONFIG), tmp_path, clock=lambda: now[0])
    with TestClient(app) as client:
        conn = SdkConnector("http://testserver", "axis-h41", SECRETS["axis-h41"],
                            timestamp=sdk_timestamp(now[0]), http=client)
        _ok(conn.send_edoc(STATUS.read_bytes(), sender=H41, to=None, messagetype="status"))
        now[0] += timedelta(hours=47)
        assert len(_ok(conn.get_sent_edoc_list())["data"]) == 1
        # The SDK's fixed timestamp ages out: a connector alive for 49 h is refused.
        now[0] += timedelta(hours=2)
        _fail(conn.get_sent_edoc_list(), "103")
        assert client.get("/_sim/state").json()["listed"] == {"vpcp": {"edoc": 0, "status": 1}}
