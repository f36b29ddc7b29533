"""The console's Journal page (issue 11, item 5): an auditor sees the last verification,
verifies the whole journal or a range now (journaled before it runs, its result then in
the journal), sees the signed checkpoints with the journal's verdict against the latest,
and the access trail filtered by actor. A tampered entry shows as broken; other roles
get the 403 page, the verify POST included. And the verifier's range itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import serve, settle, start
from console_support import api_login, csrf_of, login, shot
from exchange_support import NOI_VU, TAI_CHINH, UBND, TestNode
from sqlalchemy import text

from adapters.store.checkpoints import SqlCheckpoints, export_dir


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def _traffic(t: TestNode, n: int = 3) -> None:
    for i in range(n):
        t.node.exchange.submit(t.document(UBND, (NOI_VU, TAI_CHINH), 100 + i)[1])
    settle(t)


def _checkpoint(t: TestNode) -> int:
    now = t.clock.now()
    t.node.store.seal_journal(now)
    taken = SqlCheckpoints(t.node.engine, export_dir(t.node.settings)).take(
        now, t.node.signer)
    return taken.checkpoint.seq


def _kinds(t: TestNode, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in t.node.store.journal() if e.kind == kind]


def test_auditor_verifies_the_journal_and_sees_checkpoints_and_the_access_trail(
    t: TestNode, api: httpx.Client, page: Any
) -> None:
    _traffic(t)
    cp_seq = _checkpoint(t)
    base = str(api.base_url)
    login(page, base, "auditor", purpose="Thanh tra 12/QĐ-TTr")
    page.get_by_test_id("nav-journal").click()
    assert page.get_by_test_id("verify-never").is_visible()
    assert page.get_by_test_id("cp-verdict").inner_text() == "Khớp"
    rows = page.get_by_test_id("checkpoint-row")
    assert rows.count() == 1 and rows.first.inner_text().startswith(str(cp_seq))

    page.get_by_test_id("verify-now").click()
    assert page.get_by_test_id("verify-result").inner_text() == "Toàn vẹn"
    assert page.get_by_test_id("verify-by").inner_text() == "test.auditor"
    entries = int(page.get_by_test_id("verify-entries").inner_text())
    assert entries >= cp_seq
    # Journaled before it ran, with who and why; then its result.
    verifies = _kinds(t, "access.verify")
    assert [(v["actor"], v["role"], v["reason"]) for v in verifies] == [
        ("test.auditor", "auditor", "Thanh tra 12/QĐ-TTr")]
    [result] = _kinds(t, "journal.verified")
    assert result["ok"] is True and result["checkpoint"]["verdict"] == "ok"
    assert result["entries"] == entries

    # The access trail: the auditor's own steps, filtered by actor.
    actions = page.get_by_test_id("access-action").all_inner_texts()
    assert "Kiểm tra" in actions and "Đăng nhập" in actions
    page.get_by_test_id("actor-filter").fill("nobody")
    page.get_by_test_id("actor-apply").click()
    assert page.get_by_test_id("access-row").count() == 0
    page.get_by_test_id("actor-filter").fill("test.auditor")
    page.get_by_test_id("actor-apply").click()
    actors = set(page.get_by_test_id("access-actor").all_inner_texts())
    assert actors == {"test.auditor"}
    views = _kinds(t, "access.view")
    assert views[-1]["detail"]["actor"] == "test.auditor"

    # A seq range.
    page.get_by_test_id("verify-first").fill("2")
    page.get_by_test_id("verify-last").fill("5")
    page.get_by_test_id("verify-now").click()
    assert page.get_by_test_id("verify-range").inner_text() == "2 – 5"
    assert page.get_by_test_id("verify-entries").inner_text() == "4"
    assert page.get_by_test_id("verify-result").inner_text() == "Toàn vẹn"
    page.get_by_test_id("lang").click()
    assert page.get_by_test_id("verify-result").inner_text() == "Intact"
    page.goto(f"{base}/console/journal?lang=vi")
    page.get_by_test_id("verify-now").click()
    shot(page, "journal")


def test_a_tampered_entry_shows_broken_and_a_cut_journal_fails_its_checkpoint(
    t: TestNode, api: httpx.Client, page: Any
) -> None:
    _traffic(t)
    _checkpoint(t)
    with t.node.engine.begin() as conn:
        conn.execute(text("UPDATE journal SET payload = :p WHERE seq = 4"),
                     {"p": '{"forged":true}'})
    login(page, str(api.base_url), "auditor")
    page.get_by_test_id("nav-journal").click()
    page.get_by_test_id("verify-now").click()
    assert page.get_by_test_id("verify-result").inner_text() == "Bị sửa đổi hoặc thiếu"
    assert page.get_by_test_id("verify-broken").inner_text() == "4"
    # A range that stops before the edit still holds; one that covers it does not.
    page.get_by_test_id("verify-first").fill("1")
    page.get_by_test_id("verify-last").fill("3")
    page.get_by_test_id("verify-now").click()
    assert page.get_by_test_id("verify-result").inner_text() == "Toàn vẹn"
    page.get_by_test_id("verify-first").fill("3")
    page.get_by_test_id("verify-last").fill("6")
    page.get_by_test_id("verify-now").click()
    assert page.get_by_test_id("verify-broken").inner_text() == "4"


def test_a_truncated_journal_fails_against_the_exported_checkpoint(
    t: TestNode, api: httpx.Client
) -> None:
    _traffic(t)
    seq = _checkpoint(t)
    with t.node.engine.begin() as conn:  # cut the last sealed entries, rewrite the head
        conn.execute(text("DELETE FROM journal WHERE seq > :s"), {"s": seq - 3})
        link = conn.execute(text("SELECT hash FROM journal WHERE seq = :s"),
                            {"s": seq - 3}).scalar()
        conn.execute(text("UPDATE journal_head SET seq = :s, hash = :h"),
                     {"s": seq - 3, "h": link})
    api_login(api, "auditor")
    shown = api.get("/console/journal").text
    assert 'data-testid="cp-verdict">Nhật ký bị cắt bớt' in shown
    r = api.post("/console/journal/verify", data={"csrf": csrf_of(shown)})
    assert r.status_code == 303
    [result] = _kinds(t, "journal.verified")
    assert result["ok"] is False and result["checkpoint"]["verdict"] == "truncated"


@pytest.mark.parametrize("role", ["viewer", "operator", "registry_admin"])
def test_other_roles_get_the_403_page_and_cannot_verify(
    t: TestNode, api: httpx.Client, role: str
) -> None:
    api_login(api, role)
    r = api.get("/console/journal")
    assert r.status_code == 403 and 'data-testid="message"' in r.text
    r = api.post("/console/journal/verify", data={"csrf": csrf_of(r.text)})
    assert r.status_code == 403
    assert not _kinds(t, "access.verify") and not _kinds(t, "journal.verified")


def test_the_verifier_checks_a_range_from_the_link_before_it(t: TestNode) -> None:
    _traffic(t, 2)
    store = t.node.store
    store.seal_journal(t.clock.now())
    last = store.journal_head()[0]
    assert store.verify_journal().ok
    whole = store.verify_journal(1, last)
    assert whole.ok and whole.entries == last
    part = store.verify_journal(3, 5)
    assert part.ok and part.entries == 3
    with t.node.engine.begin() as conn:  # an edited link just before the range
        conn.execute(text("UPDATE journal SET hash = :h WHERE seq = 2"), {"h": "0" * 64})
    assert not store.verify_journal().ok
    assert store.verify_journal(3, 5).first_broken == 3  # its prev no longer matches
    assert store.verify_journal(4, 5).ok  # what lies outside the range is not its own


def test_a_time_window_verifies_the_entries_written_in_it(
    t: TestNode, api: httpx.Client
) -> None:
    _traffic(t, 1)
    t.node.store.seal_journal(t.clock.now())
    api_login(api, "auditor")
    csrf = csrf_of(api.get("/console/journal").text)
    before, at = "2020-01-01T00:00:00", t.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    for since, until in ((before, "2020-01-02T00:00:00"), (before, at)):
        r = api.post("/console/journal/verify",
                     data={"csrf": csrf, "since": since, "until": until})
        assert r.status_code == 303
    empty, window = _kinds(t, "journal.verified")
    assert empty["ok"] is True and empty["entries"] == 0
    assert window["ok"] is True and window["first"] == 1
    assert window["entries"] == window["last"] > 1  # everything so far was written at T0
    r = api.post("/console/journal/verify", data={"csrf": csrf, "first": "x"})
    assert r.status_code == 400
    r = api.post("/console/journal/verify", data={"csrf": csrf, "first": "5", "last": "2"})
    assert r.status_code == 400


def test_every_word_of_the_three_pages_is_translated(
    t: TestNode, api: httpx.Client, page: Any
) -> None:
    base = str(api.base_url)
    login(page, base, "admin")
    raw_key = re.compile(r"\b(journal|registry|ops|action|agency_state)\.[a-z_]+\b")
    for path in ("journal", "registry", f"registry/agency/{NOI_VU}", "operations"):
        for lang in ("vi", "en"):
            page.goto(f"{base}/console/{path}?lang={lang}")
            jobs = set(page.locator("[data-testid=job-row] td.mono").all_inner_texts())
            raw = [m.group(0) for m in raw_key.finditer(page.inner_text("body"))
                   if m.group(0) not in jobs]  # jobs are named journal.seal, …
            assert not raw, (path, lang, raw)
