"""Browser fixtures: the real app on a free port (SQLite, a fixed clock) and headless Chromium.

Chromium is Debian's (`apt-get install chromium`; Playwright's own download is not
used): CHROMIUM_PATH, else `chromium` on the PATH. Without it (or without the
`playwright` package) these tests are skipped — unless VIZDOTS_REQUIRE_BROWSER=1 (as in
CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import serving

#: Wednesday 2026-11-25, noon UTC: every member of the demo team has a working day.
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
#: Where the screenshots go; `.ci/run` prints this path at the end.
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts" / "browser"
#: LINK_SIGNING_SECRET of the test servers.
LINKS = "browser-tests-link-secret-0123456789"


def _missing(reason: str) -> None:
    if os.environ.get("VIZDOTS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"a browser is required (VIZDOTS_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path or not Path(path).exists():
        _missing("no Chromium: `apt-get install chromium`, or set CHROMIUM_PATH")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    assert path is not None
    return path


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class DevServer:
    url: str
    services: Services
    clock: FakeClock


@asynccontextmanager
async def _server(
    tmp_path: Path, sqlite_template: Path, *, dev_chat: bool
) -> AsyncIterator[DevServer]:
    database = tmp_path / "browser.db"
    shutil.copy(sqlite_template, database)
    clock = FakeClock(NOW)
    settings = load_settings(database_url=f"sqlite:///{database}", link_signing_secret=LINKS)
    services = build_services(settings, clock=clock, loop_interval=None, dev_chat=dev_chat)
    async with serving(create_app(services)) as url:
        yield DevServer(url=url, services=services, clock=clock)


@pytest.fixture
async def dev_server(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[DevServer]:
    """The app with its local chat on a free port, on a fresh migrated SQLite database."""
    async with _server(tmp_path, sqlite_template, dev_chat=True) as server:
        yield server


@pytest.fixture
async def email_server(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[DevServer]:
    """The same app with no chat at all: members are reached by email and its links."""
    async with _server(tmp_path, sqlite_template, dev_chat=False) as server:
        yield server


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def see() -> Any:
    """Playwright's `expect`, which waits for what a person would see."""
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    return expect
