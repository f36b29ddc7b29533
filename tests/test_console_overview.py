"""The Overview page in a real browser: the figures of real traffic (accepted, refused by
code, latency, what waits), the charts drawn as SVG, the gauges and job health; the view
journaled."""

from __future__ import annotations

from typing import Any

from console_support import login, shot
from console_traffic_support import accesses, base_fixture, make_traffic, node_fixture  # noqa: F401
from exchange_support import KE_HOACH, TAI_CHINH, TestNode

from axis.app.traffic import percentile

CHARTS = ("hours", "days", "refusals", "latency", "waiting")


def test_overview_shows_the_traffic_as_charts_and_tables(
    t: TestNode, base: str, page: Any
) -> None:
    traffic = make_traffic(t)
    login(page, base, "viewer")
    page.goto(f"{base}/console/overview")
    # Three packages accepted (document A, the 03, document B) and the node's own 01.
    with t.node.store.reading() as tx:
        accepted = tx._conn.exec_driver_sql("SELECT count(*) FROM packages").scalar_one()
    assert page.get_by_test_id("ov-accepted").inner_text() == str(accepted)
    assert page.get_by_test_id("ov-refused").inner_text() == "2"
    for code in set(traffic.refused):
        row = page.get_by_test_id(f"refused-{code}")
        assert row.inner_text().split()[-1] == str(traffic.refused.count(code))
    # One copy delivered, 30 minutes after it was accepted.
    latency = page.get_by_test_id("ov-latency-table").inner_text()
    assert "30 phút" in latency
    # TAI_CHINH's copy of A and KE_HOACH's of B wait.
    for agency in (TAI_CHINH, KE_HOACH):
        assert page.get_by_test_id(f"waiting-{agency}").inner_text().split()[1] == "1"
    assert "ngày nữa" in page.get_by_test_id("ov-trust").inner_text()
    assert page.get_by_test_id("ov-jobs").is_visible()
    for name in CHARTS:  # every chart drawn, as SVG, in the page's language
        r = page.request.get(f"{base}/console/overview/chart/{name}.svg")
        assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in r.body()
        assert page.get_by_test_id(f"chart-{name}").evaluate("i => i.naturalWidth") > 0
    assert "Tiếp nhận" in page.request.get(f"{base}/console/overview/chart/days.svg").text()
    shot(page, "overview")
    views = [a for a in accesses(t, "view") if a["target"] == "/console/overview"]
    # Two views: the page login lands a viewer on, and the one opened again.
    assert [(a["actor"], a["role"], a["channel"]) for a in views] == [
        ("test.viewer", "viewer", "console")] * 2
    page.get_by_test_id("lang").click()
    assert "30 min" in page.get_by_test_id("ov-latency-table").inner_text()
    assert "Accepted" in page.request.get(f"{base}/console/overview/chart/days.svg").text()


def test_an_empty_node_shows_empty_charts(t: TestNode, base: str, page: Any) -> None:
    login(page, base, "auditor")
    page.goto(f"{base}/console/overview")
    assert page.get_by_test_id("ov-accepted").inner_text() == "0"
    for name in CHARTS:
        assert page.request.get(f"{base}/console/overview/chart/{name}.svg").status == 200
    assert page.request.get(f"{base}/console/overview/chart/nothing.svg").status == 404


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0 and percentile(values, 0.95) == 19.0
    assert percentile([], 0.5) == 0.0 and percentile([7.0], 0.95) == 7.0
