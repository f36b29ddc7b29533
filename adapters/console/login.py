"""Log in (token + purpose), log out, switch language, and the console's front door."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.console import i18n
from adapters.console.session import COOKIE, LIFETIME, MAX_PURPOSE, Session
from adapters.console.web import NAV, PREFIX, Console, ConsoleRoute, Ctx
from adapters.rest.admin_auth import authenticate
from axis.auth.roles import VIEWER
from axis.errors import AxisError
from axis.journal.access import Access, Action, Channel


def _safe_next(target: str) -> str:
    # Only a path inside the console: never an open redirect to another site.
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
    # A dependency as a default value: an annotation naming a local would not resolve
    # (annotations are strings here). Every role holds VIEWER.
    logged_in = Depends(console.need(VIEWER))

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = PREFIX + "/") -> HTMLResponse:
        return console.render(request, "login.html", next=_safe_next(next), error="")

    @r.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: Annotated[str, Form()] = "",
              purpose: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = PREFIX + "/") -> Response:
        lang = console.lang(request)
        target = _safe_next(next)
        purpose = purpose.strip()[:MAX_PURPOSE]
        try:
            who = authenticate(console.settings.admin.tokens, f"Bearer {token.strip()}")
        except AxisError:
            return console.render(request, "login.html", status=401, next=target,
                                  error=i18n.text("login.failed", lang))
        if not purpose:
            return console.render(request, "login.html", status=400, next=target,
                                  error=i18n.text("login.purpose_missing", lang))
        presented = "sha256:" + hashlib.sha256(token.strip().encode()).hexdigest()
        session = Session(who, presented, purpose, console.now() + LIFETIME)
        console.node.access.record(Access(actor=who.name, role=who.role, action=Action.LOGIN,
                                          target=PREFIX, channel=Channel.CONSOLE,
                                          reason=purpose))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, console.key.issue(session), httponly=True,
                            samesite="strict", path=PREFIX,
                            secure=request.url.scheme == "https",
                            max_age=int(LIFETIME.total_seconds()))
        return response

    @r.post("/logout")
    def logout(ctx: Ctx = logged_in) -> Response:
        ctx.journal(Action.LOGOUT, PREFIX)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @r.get("/")
    def home(ctx: Ctx = logged_in) -> Response:
        first = next(page for page, _, need in NAV if ctx.who.may(need))
        return RedirectResponse(f"{PREFIX}/{first}", status_code=303)

    return r
