"""/docs works air-gapped (Swagger UI's files are served by the app itself, no CDN), and
/openapi.json documents every HTTP route the app serves: a summary, who may call it
(its auth) and what it answers — Slack's routes, the cron endpoint, the probes and, when
it is mounted, the local dev chat."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount, Route

from bot.app import create_app
from bot.bootstrap import build_services
from bot.openapi import api_routes
from bot.settings import load_settings

#: The routes that serve the documentation itself.
DOCS = {"/docs", "/openapi.json", "/docs/assets"}
SLACK = {"slack_signing_secret": "s3cret", "slack_client_id": "1.2", "slack_client_secret": "c"}


def app_with(tmp_path: Path, **settings: Any) -> FastAPI:
    """The app as `serve` builds it (no database is touched)."""
    url = f"sqlite:///{tmp_path}/docs.db"
    return create_app(build_services(load_settings(database_url=url, **settings)))


@pytest.fixture(params=["dev-chat", "slack"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> FastAPI:
    return app_with(tmp_path, **(SLACK if request.param == "slack" else {}))


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_docs_load_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3 and all(url.startswith("/docs/assets/") for url in assets)
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for url in assets:
        answer = await client.get(url)
        assert answer.status_code == 200 and len(answer.content) > 500, url
        assert kinds[Path(url).suffix] in answer.headers["content-type"]
    assert "url: '/openapi.json'" in page.text
    assert (await client.get("/openapi.json")).status_code == 200


async def test_redoc_is_not_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/redoc")).status_code == 404  # its bundle would come from a CDN


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, but for the documentation's own."""
    found = set()
    for route in app.routes:
        path = getattr(route, "path", None)
        if path in DOCS:
            assert isinstance(route, Mount | Route)
            continue
        if path is not None:
            assert isinstance(route, Route), route  # a plain route would escape the schema
    for api_route in api_routes(app.routes):
        if api_route.path not in DOCS:
            found |= {(method, api_route.path) for method in api_route.methods}
    return found


def test_every_route_is_documented(app: FastAPI) -> None:
    schema = app.openapi()
    served = served_routes(app)
    assert {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/internal/scheduler")} <= served
    for method, path in sorted(served):
        operation = schema["paths"][path][method.lower()]
        assert operation["summary"], (method, path)
        assert "**Auth:** " in operation["description"], (method, path)
        assert operation["responses"] and "422" not in operation["responses"], (method, path)


def test_the_slack_and_dev_chat_routes_are_there(tmp_path: Path) -> None:
    slack = set(app_with(tmp_path, **SLACK).openapi()["paths"])
    assert {"/slack/events", "/slack/install", "/slack/oauth_redirect"} <= slack
    assert not any(path.startswith("/dev") for path in slack)  # not mounted beside Slack
    dev = app_with(tmp_path).openapi()["paths"]
    assert "/dev/api/members/{member_id}/say" in dev
    assert not any(path.startswith("/slack") for path in dev)


def test_auth_and_refusals_are_spelled_out(tmp_path: Path) -> None:
    paths = app_with(tmp_path, **SLACK).openapi()["paths"]
    events = paths["/slack/events"]["post"]
    assert {"200", "400", "401", "413", "500"} <= set(events["responses"])
    assert "X-Slack-Signature" in events["description"]
    assert {"application/json", "application/x-www-form-urlencoded"} == set(
        events["requestBody"]["content"]
    )
    scheduler = paths["/api/internal/scheduler"]["post"]
    assert {"200", "401", "503"} <= set(scheduler["responses"])
    assert "Bearer <SCHEDULER_SECRET>" in scheduler["description"]
    assert "503" in paths["/readyz"]["get"]["responses"]
