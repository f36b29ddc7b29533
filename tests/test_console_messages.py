"""The Messages page in a real browser: search real traffic by agency (the other
identifier form), status, state; the retry budget of a pushed copy; paging; CSV export
with a reason. Every search and the export journaled; a form without its CSRF value or
reason refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from console_support import login, shot
from console_traffic_support import accesses, base_fixture, make_traffic, node_fixture  # noqa: F401
from exchange_support import NOI_VU, TestNode
from sqlalchemy import or_, select

from adapters.store.route_tables import deliveries


def ids(t: TestNode, *where: Any) -> set[str]:
    d = deliveries.c
    with t.node.store.engine.connect() as conn:
        return set(conn.execute(select(d.delivery_id).where(*where)).scalars())


def shown(page: Any) -> set[str]:
    rows = page.locator("[data-testid^='row-']")
    return {rows.nth(i).get_attribute("data-testid")[4:] for i in range(rows.count())}


def test_search_by_agency_status_and_state_with_attempts_and_paging(
    t: TestNode, base: str, page: Any
) -> None:
    traffic = make_traffic(t)
    login(page, base, "viewer")
    page.goto(f"{base}/console/messages")
    assert shown(page) == ids(t)
    assert page.get_by_test_id(f"attempts-{traffic.retried}").inner_text() == "2"
    shot(page, "messages")

    short = t.node.registry.find(NOI_VU).short_id  # type: ignore[union-attr]
    assert short != NOI_VU
    page.get_by_test_id("f-agency").fill(short)
    page.get_by_test_id("search").click()
    d = deliveries.c
    mine = ids(t, or_(d.sender_id == NOI_VU, d.recipient_id == NOI_VU))
    assert shown(page) == mine and len(mine) >= 2
    assert NOI_VU in page.get_by_test_id("agency-resolved").inner_text()

    page.get_by_test_id("f-status").select_option("03")
    page.get_by_test_id("search").click()
    assert shown(page) == ids(t, d.status_code == "03") and len(shown(page)) == 1

    page.goto(f"{base}/console/messages?state=available")
    assert shown(page) == ids(t, d.state == "available")
    assert "Chờ bên nhận lấy" in page.get_by_test_id(f"state-{traffic.retried}").inner_text()

    page.goto(f"{base}/console/messages?limit=2")  # paging: newest first, two at a time
    first = shown(page)
    page.get_by_test_id("next").click()
    second = shown(page)
    assert len(first) == len(second) == 2 and not first & second
    assert page.get_by_test_id("prev").is_visible()

    searches = accesses(t, "search")
    assert {"agency": short} in [a["detail"]["filters"] for a in searches]
    assert {"agency": short, "status": "03"} in [a["detail"]["filters"] for a in searches]
    assert all(a["actor"] == "test.viewer" and a["target"] == "/console/messages"
               for a in searches)
    assert len(searches) == 6  # every page shown was a search, journaled


def test_csv_export_asks_a_reason_and_is_journaled(
    t: TestNode, base: str, page: Any
) -> None:
    traffic = make_traffic(t)
    login(page, base, "viewer")
    page.goto(f"{base}/console/messages?state=available")
    page.get_by_test_id("export-reason").fill("Báo cáo tháng 11")
    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Tiếp nhận lúc"
    assert {r[2] for r in rows[1:]} == ids(t, deliveries.c.state == "available")
    assert traffic.retried in {r[2] for r in rows[1:]}
    exports = accesses(t, "export")
    assert [(e["actor"], e["reason"], e["detail"]["filters"]) for e in exports] == [
        ("test.viewer", "Báo cáo tháng 11", {"state": "available"})]

    # Straight at the route: no reason, or another site's form (no CSRF value): refused.
    csrf = page.get_by_test_id("export-form").locator("input[name=csrf]").get_attribute(
        "value")
    r = page.request.post(f"{base}/console/messages/export", form={"csrf": csrf})
    assert r.status == 400
    r = page.request.post(f"{base}/console/messages/export",
                          form={"csrf": "forged", "reason": "x"})
    assert r.status == 403
    assert len(accesses(t, "export")) == 1


def test_an_invalid_search_is_refused_and_a_visitor_must_log_in(
    t: TestNode, base: str, page: Any
) -> None:
    page.goto(f"{base}/console/messages")
    assert "/console/login" in page.url
    login(page, base, "operator")
    r = page.goto(f"{base}/console/messages?status=99")
    assert r.status == 400 and page.get_by_test_id("message").is_visible()
    r = page.goto(f"{base}/console/messages?since=yesterday")
    assert r.status == 400
