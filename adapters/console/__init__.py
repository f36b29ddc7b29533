"""The web console at /console (issue 11, item 5): served by the node itself, pages
rendered on the server from the templates and static files shipped in this package
(nothing from the internet), in Vietnamese with English available, for the roles of
axis/auth/roles.py, deny by default. docs/console.md shows every page.

Pages read and act only through the node's operations (the registry service, the route
store's reads, the journal, the evidence export); every search, view, download, export
and resend is journaled with who and why (axis/journal/access.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from adapters.node import Node
from axis.clock import Clock
from axis.settings import Settings


def mount(app: FastAPI, settings: Settings, node: Node, clock: Clock) -> None:
    from fastapi.staticfiles import StaticFiles

    from adapters.console import login, pages
    from adapters.console.session import SessionKey
    from adapters.console.web import PREFIX, Console
    from axis.auth import keys

    console = Console(settings, node, clock, SessionKey(keys.master_key(settings)))
    app.state.console = console
    static = StaticFiles(packages=[("adapters.console", "static")])
    app.mount(f"{PREFIX}/static", static, name="console-static")
    app.include_router(login.router(console))
    for page in pages.ALL:
        app.include_router(page.router(console))
