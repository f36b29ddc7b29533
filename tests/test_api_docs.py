"""/docs and /redoc work on a network without internet, and the admin API's answers are
typed in /openapi.json. Through a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import ADMIN_TOKEN, bearer, serve, start
from exchange_support import TestNode

from adapters.rest.admin_models import RegistryAgencyOut
from axis.registry import codec

# What a page may load, by file type: the type the node must answer with.
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@pytest.fixture()
def api(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[httpx.Client]:
    t: TestNode = start(tmp_path, *pki_dirs)
    try:
        with serve(t) as client:
            yield client
    finally:
        t.node.close()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href", "spec-url"} and v]


def _referenced(page: str) -> list[str]:
    links = _Links()
    links.feed(page)
    # Swagger UI's script names the OpenAPI document as `url: '…'`.
    return links.urls + re.findall(r"\burl:\s*'([^']+)'", page)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_everything_from_the_node(api: httpx.Client, page: str) -> None:
    r = api.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    # Nothing outside the node: no CDN, no web fonts, no validator badge.
    assert not re.findall(r"https?://[^\s\"'<>]+", r.text)
    urls = _referenced(r.text)
    assert any(u.endswith(".js") for u in urls), urls
    assert any(u.endswith("/openapi.json") for u in urls), urls
    for url in urls:
        # On this node, whatever host it is reached by (not `//host/…` either).
        assert url.startswith("/") and not url.startswith("//"), url
        got = api.get(url)
        assert got.status_code == 200, (url, got.status_code)
        suffix = Path(url).suffix
        assert TYPES[suffix] in got.headers["content-type"], (url, got.headers["content-type"])
        assert len(got.content) > 1000, url


def test_the_page_scripts_are_the_real_bundles(api: httpx.Client) -> None:
    swagger = api.get("/docs/assets/swagger-ui-bundle.js")
    redoc = api.get("/docs/assets/redoc.standalone.js")
    assert b"SwaggerUIBundle" in swagger.content and len(swagger.content) > 500_000
    assert b"Redoc" in redoc.content and len(redoc.content) > 500_000
    assert api.get("/docs/assets/nothing.js").status_code == 404


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def test_every_admin_answer_has_a_schema_in_openapi(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    checked = 0
    for path, ops in doc["paths"].items():
        if not path.startswith("/admin/"):
            continue
        for method, op in ops.items():
            ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            assert ok, (method, path)
            for code, answer in ok.items():
                schema = _resolve(doc, answer["content"]["application/json"]["schema"])
                # A typed answer: named fields, not an empty or free-form object.
                assert schema.get("type") == "object", (method, path, code, schema)
                assert schema.get("properties"), (method, path, code, schema)
                assert schema.get("required"), (method, path, code, schema)
                checked += 1
    assert checked >= 15


def test_admin_agency_schema_names_every_field_of_the_registry_format() -> None:
    # The admin API shows agencies in the codec's format: a field the codec gains must be
    # typed here too, or the typed answer would drop it.
    assert tuple(RegistryAgencyOut.model_fields) == codec.FIELDS


def test_typed_answers_keep_what_the_routes_returned(api: httpx.Client) -> None:
    body = api.get("/admin/v1/agencies/000.00.02.H37", headers=bearer(ADMIN_TOKEN)).json()
    assert set(body) == {"agency", "history", "credentials"}
    assert set(body["agency"]) == set(codec.FIELDS)
    assert body["agency"]["kind"] == "internal" and body["agency"]["state"] == "active"
