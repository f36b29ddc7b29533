"""The console's door: a token and a purpose open a session (journaled), a wrong token or
no purpose do not, a forged or expired cookie is a logged-out visitor, and the language
switches between Vietnamese (default) and English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import serve, start
from console_support import TOKENS, login, shot
from exchange_support import TestNode

from adapters.console.session import COOKIE


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def _login(api: httpx.Client, token: str, purpose: str) -> httpx.Response:
    return api.post("/console/login", data={"token": token, "purpose": purpose,
                                            "next": "/console/"})


def test_a_token_and_a_purpose_open_a_journaled_session(t: TestNode, api: httpx.Client) -> None:
    r = _login(api, TOKENS["auditor"], "Thanh tra 12/QĐ")
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    cookie = r.cookies[COOKIE]
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    logins = [e for e in t.node.store.journal() if e.kind == "access.login"]
    assert [(e.payload["actor"], e.payload["role"], e.payload["reason"]) for e in logins] == [
        ("test.auditor", "auditor", "Thanh tra 12/QĐ")]
    api.cookies.set(COOKIE, cookie, path="/console")
    assert api.get("/console/").status_code == 303  # to the first page the role may see


@pytest.mark.parametrize(("token", "purpose", "status"), [
    ("axa_not-a-token", "x", 401), ("", "x", 401), (TOKENS["viewer"], "  ", 400)])
def test_no_session_without_a_valid_token_and_a_purpose(
    t: TestNode, api: httpx.Client, token: str, purpose: str, status: int
) -> None:
    r = _login(api, token, purpose)
    assert r.status_code == status and COOKIE not in r.cookies
    assert "data-testid=\"login-error\"" in r.text
    assert not [e for e in t.node.store.journal() if e.kind == "access.login"]


def test_a_forged_cookie_is_a_logged_out_visitor(api: httpx.Client) -> None:
    cookie = _login(api, TOKENS["viewer"], "x").cookies[COOKIE]
    body, _, mac = cookie.partition(".")
    forged = body.replace(body[-4:], "AAAA") + "." + mac  # the role could be in there
    for value in (forged, body + "." + "0" * 64, "garbage"):
        api.cookies.clear()
        api.cookies.set(COOKIE, value, path="/console")
        r = api.get("/console/")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_a_session_ends_when_its_token_leaves_the_settings(
    t: TestNode, api: httpx.Client
) -> None:
    cookie = _login(api, TOKENS["viewer"], "x").cookies[COOKIE]
    narrowed = t.node.settings.model_copy(update={"admin": t.node.settings.admin.model_copy(
        update={"tokens": tuple(x for x in t.node.settings.admin.tokens
                                if x.role != "viewer")})})
    with serve(t, narrowed) as other:
        other.cookies.set(COOKIE, cookie, path="/console")
        assert other.get("/console/").headers["location"].startswith("/console/login")


def test_logout_needs_the_form_and_ends_the_session(api: httpx.Client) -> None:
    cookie = _login(api, TOKENS["viewer"], "x").cookies[COOKIE]
    api.cookies.set(COOKIE, cookie, path="/console")
    r = api.post("/console/logout", data={"csrf": "wrong"})
    assert r.status_code == 303  # logout needs no CSRF to be harmless; it ends the session
    assert "Max-Age=0" in r.headers["set-cookie"] or 'axis_console=""' in r.headers["set-cookie"]


def test_login_page_in_a_browser_in_both_languages(api: httpx.Client, page: Any) -> None:
    base = str(api.base_url)
    page.goto(f"{base}/console/login")
    assert page.get_by_test_id("login").inner_text() == "Đăng nhập"
    shot(page, "login")
    page.get_by_test_id("lang").click()
    assert page.get_by_test_id("login").inner_text() == "Log in"
    page.get_by_test_id("token").fill("axa_wrong")
    page.get_by_test_id("purpose").fill("x")
    page.get_by_test_id("login").click()
    assert page.get_by_test_id("login-error").inner_text() == "Invalid token."
    login(page, base, "viewer")
    assert page.url == f"{base}/console/overview"  # the first page a viewer may see
