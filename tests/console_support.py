"""The console under a real headless Chromium (Debian's /usr/bin/chromium driven by
Playwright; no browser is downloaded): a served test node (tests/admin_support.py, one
token per role), a browser, and logging in as a role.

Screenshots: `shot(page, name)` writes NAME.png into $AXIS_CONSOLE_SHOTS when it is set
(`make console-shots` sets it to docs/console/), nowhere otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import ADMIN_TOKEN, OPERATOR_TOKEN, ROLE_TOKENS

from adapters.console.session import COOKIE

CHROMIUM = Path("/usr/bin/chromium")
TOKENS = {"admin": ADMIN_TOKEN, "operator": OPERATOR_TOKEN, **ROLE_TOKENS}


# Module scope, not session: while Playwright's sync API runs, the main thread has a
# running event loop, and any later test that calls asyncio.run() (or signs a PDF with
# pyHanko) in it would fail. It stops when the module's tests are done.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs /usr/bin/chromium (tools/install-system-deps.sh)")
        pytest.skip("no /usr/bin/chromium on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN",
                                  accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(15_000)
    try:
        yield p
    finally:
        context.close()


def login(page: Any, base: str, role: str, purpose: str = "Kiểm tra định kỳ") -> None:
    """Log in through the login form as the test token of `role`."""
    page.goto(f"{base}/console/login")
    page.get_by_test_id("token").fill(TOKENS[role])
    page.get_by_test_id("purpose").fill(purpose)
    page.get_by_test_id("login").click()
    page.wait_for_load_state()
    assert "/console/login" not in page.url, page.content()[:2000]


def shot(page: Any, name: str) -> None:
    where = os.environ.get("AXIS_CONSOLE_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)


def api_login(api: Any, role: str, purpose: str = "x") -> None:
    """Log an httpx client of a served node in as `role` (the session cookie set), for
    checks a browser cannot make (a POST a page does not offer)."""
    r = api.post("/console/login", data={"token": TOKENS[role], "purpose": purpose,
                                         "next": "/console/"})
    assert r.status_code == 303, r.text[:500]
    api.cookies.set(COOKIE, r.cookies[COOKIE], path="/console")


def csrf_of(html: str) -> str:
    """The session's CSRF value in a console page (every page has the logout form)."""
    return html.split('name="csrf" value="')[1].split('"', maxsplit=1)[0]
