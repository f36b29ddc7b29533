"""The console's machinery: templates, the session gate, CSRF, the access journal.

Every page is a FastAPI route on the console router whose route class (`ConsoleRoute`)
turns a `Leave` raised anywhere in the request (not logged in: to the login page; a role
that lacks the page's capability: the bilingual 403 page) into its response. A page
declares what it needs with `Depends(console.need("auditor"))` and receives a `Ctx`: who,
the session's purpose, the language, a `render` and a `journal` bound to the request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from adapters.console import i18n
from adapters.console.session import COOKIE, Session, SessionKey
from adapters.node import Node
from axis.auth import roles
from axis.clock import Clock, iso
from axis.journal.access import Access, Action, Channel
from axis.settings import Settings

PREFIX = "/console"

# The pages in the menu, in order, with the capability each needs (axis/auth/roles.py).
NAV: tuple[tuple[str, str, str], ...] = (
    ("overview", "nav.overview", roles.VIEWER),
    ("messages", "nav.messages", roles.VIEWER),
    ("journal", "nav.journal", roles.AUDITOR),
    ("registry", "nav.registry", roles.VIEWER),
    ("tasks", "nav.tasks", roles.VIEWER),
    ("operations", "nav.operations", roles.OPERATOR),
)


class Leave(Exception):  # not an error: a page answering something else
    def __init__(self, response: Response) -> None:
        super().__init__("leave")
        self.response = response


@dataclass(frozen=True, slots=True)
class Ctx:
    """One request's view of the console."""

    console: Console
    request: Request
    session: Session
    lang: str

    @property
    def who(self) -> roles.Administrator:
        return self.session.who

    def t(self, key: str) -> str:
        return i18n.text(key, self.lang)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return self.console.render(self.request, template, status=status, ctx=self, **values)

    def journal(self, action: Action, target: str, reason: str = "",
                **detail: object) -> None:
        """Journal what this request shows or does, before it is shown (fail closed)."""
        self.console.node.access.record(Access(
            actor=self.who.name, role=self.who.role, action=action, target=target,
            channel=Channel.CONSOLE, reason=reason or self.session.purpose,
            detail={"purpose": self.session.purpose, **detail} if reason else detail))

    def check_form(self, form: Mapping[str, Any]) -> None:
        """A POST from a console form: its CSRF value must be this session's."""
        if str(form.get("csrf", "")) != self.session.csrf:
            raise Leave(self.render("message.html", status=403, title=self.t("denied.title"),
                                    text=self.t("csrf.failed")))

    def reason(self, form: Mapping[str, Any]) -> str:
        """The form's required `reason` (every change and export asks for one)."""
        text = str(form.get("reason", "")).strip()
        if not text:
            raise Leave(self.render("message.html", status=400, title=self.t("reason"),
                                    text=self.t("reason_missing")))
        return text[:500]


class Console:
    def __init__(self, settings: Settings, node: Node, clock: Clock, key: SessionKey) -> None:
        self.settings, self.node, self.clock, self.key = settings, node, clock, key
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("adapters.console", "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(prefix=PREFIX, nav=NAV, iso=iso, role_titles=roles.TITLES)

    def now(self) -> datetime:
        return self.clock.now()

    def session(self, request: Request) -> Session | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        return self.key.read(cookie, self.settings.admin.tokens, self.now())

    def lang(self, request: Request) -> str:
        return i18n.lang_of(request.cookies.get(i18n.COOKIE), request.query_params.get("lang"))

    def render(self, request: Request, template: str, *, status: int = 200,
               ctx: Ctx | None = None, **values: Any) -> HTMLResponse:
        lang = ctx.lang if ctx is not None else self.lang(request)
        html = self.env.get_template(template).render(
            t=lambda key: i18n.text(key, lang), lang=lang, ctx=ctx, request=request,
            **values)
        response = HTMLResponse(html, status_code=status)
        # Pages show evidence: never cached, never framed by another site.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        if request.query_params.get("lang") in i18n.LANGS:
            response.set_cookie(i18n.COOKIE, lang, samesite="strict", httponly=True)
        return response

    def need(self, *capabilities: str) -> Callable[[Request], Ctx]:
        """A dependency: the request's `Ctx`, or `Leave` to the login or the 403 page."""

        def gate(request: Request) -> Ctx:
            session = self.session(request)
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query
                                             else "")
                raise Leave(RedirectResponse(f"{PREFIX}/login?next={quote(target)}",
                                             status_code=303))
            ctx = Ctx(self, request, session, self.lang(request))
            if not session.who.may(*capabilities):
                raise Leave(ctx.render("message.html", status=403,
                                       title=ctx.t("denied.title"), text=ctx.t("denied.text")))
            return ctx

        return gate


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except Leave as leave:
                return leave.response

        return handler
