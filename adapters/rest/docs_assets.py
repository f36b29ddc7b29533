"""/docs (Swagger UI) and /redoc (ReDoc) served entirely by the node.

FastAPI's own pages load their scripts, styles, favicon and (ReDoc) fonts from CDNs, so on
a provincial network without internet they are blank. Here the same pages reference the
copies that the pinned `fastapi-offline` distribution ships (Swagger UI's bundle and CSS,
ReDoc's standalone bundle, a favicon), mounted under ASSETS_PATH; nothing in either page
points outside the node. The app must be created with `docs_url=None, redoc_url=None`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_dir() -> Path:
    """The packaged static files; a missing one stops the node at start, not a reader."""
    directory = resources.files("fastapi_offline") / "static"
    if not isinstance(directory, Path):
        raise RuntimeError(f"API docs assets are not on the file system: {directory}")
    missing = [name for name in ASSET_FILES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"API docs assets missing in {directory}: {missing}")
    return directory


def install(app: FastAPI) -> None:
    """Add /docs, /redoc and their assets to `app` (created without FastAPI's own pages)."""
    if app.docs_url or app.redoc_url:
        raise ValueError("create the app with docs_url=None, redoc_url=None")
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def base(request: Request) -> str:
        # Behind a proxy that mounts the node under a prefix, links keep the prefix.
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = base(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url, title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=None,
            # validatorUrl: Swagger UI would otherwise ask validator.swagger.io for a badge.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None})

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = base(request)
        return get_redoc_html(
            openapi_url=root + openapi_url, title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False)
