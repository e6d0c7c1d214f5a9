"""Secrets at rest: the Slack tokens slack_sdk's installation store keeps are sealed
with ENCRYPTION_KEY (Fernet), the app reads them back, `vizdots rotate-key` moves them
to a new key, and production without a key refuses to start."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from adapters.slack.encrypted_store import EncryptedInstallationStore, reseal_stored_tokens
from adapters.slack.tables import BOTS, INSTALLATIONS, slack_store_metadata
from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.encryption import secret_box
from bot.settings import SettingsError, encryption_key_file, load_settings
from core.store.cipher import PREFIX, SecretBox, new_key
from core.store.engine import make_async_engine
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, serving
from tests.fakes.slack_api import INSTALLED_TOKEN, FakeSlackApi
from tests.fakes.slack_requests import SlackRequests

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
OLD_KEY, NEW_KEY = new_key(), new_key()
OAUTH = {"slack_signing_secret": "signing", "slack_client_id": "111.222",
         "slack_client_secret": "client-secret"}  # fmt: skip


@asynccontextmanager
async def oauth_app(
    db_url: str, slack_api: FakeSlackApi, **settings: Any
) -> AsyncIterator[tuple[str, Services]]:
    slack_api.add_user("U1", "Ivy Installer", "ivy@t.io", "UTC", is_owner=True)
    slack_api.add_user("U3", "Mo Member", "mo@t.io", "Europe/Paris")
    config = load_settings(
        database_url=db_url, slack_api_url=slack_api.base_url, **OAUTH, **settings
    )
    services = build_services(config, clock=FakeClock(NOW), loop_interval=None)
    async with serving(create_app(services)) as url:
        yield url, services


async def install(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as browser:
        page = await browser.get("/slack/install")
        state = re.search(r"state=([\w-]+)", page.text)
        assert state is not None, page.text
        cookie = page.headers["set-cookie"].split(";")[0]
        finished = await browser.get(
            f"/slack/oauth_redirect?code=the-code&state={state.group(1)}",
            headers={"Cookie": cookie},
        )
        assert finished.status_code == 200


async def raw_rows(db_url: str) -> list[dict[str, Any]]:
    """Every row of slack_bots and slack_installations, as the database holds it."""
    tables = slack_store_metadata().tables
    engine = make_async_engine(db_url)
    async with engine.connect() as connection:
        rows = [
            dict(row._mapping)
            for name in (BOTS, INSTALLATIONS)
            for row in await connection.execute(select(tables[name]))
        ]
    await engine.dispose()
    return rows


async def test_stored_rows_hold_no_plain_token(db_url: str, slack_api: FakeSlackApi) -> None:
    async with oauth_app(db_url, slack_api) as (url, _):
        await install(url)
    rows = await raw_rows(db_url)
    assert len(rows) == 2
    assert all(row["bot_token"].startswith(PREFIX) for row in rows)
    assert not any(INSTALLED_TOKEN in str(value) for row in rows for value in row.values())


async def test_an_installed_workspace_works_end_to_end_on_its_sealed_token(
    db_url: str, slack_api: FakeSlackApi
) -> None:
    async with oauth_app(db_url, slack_api) as (url, _):
        await install(url)
        [welcome] = slack_api.calls_to("chat.postMessage")
        assert welcome.token == INSTALLED_TOKEN
        hook = f"{slack_api.base_url}response_url.hook"
        requests = SlackRequests(url, "signing", slack_api.team_id, hook, slack_api.dm_channel_of)
        answer = await requests.command("U1", "members sync")
        await requests.client.aclose()
        assert answer.status_code == 200
        await eventually(lambda: _replied(slack_api))
    listings = slack_api.calls_to("users.list")
    assert listings and {call.token for call in listings} == {INSTALLED_TOKEN}


async def _replied(slack_api: FakeSlackApi) -> bool:
    replies = [c.params.get("text", "") for c in slack_api.calls_to("response_url.hook")]
    return any("Members synced" in text for text in replies)


def cli(db_url: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ENCRYPT"))}
    environment |= {"DATABASE_URL": db_url, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


async def test_rotate_key_seals_every_token_with_the_new_key_once(
    db_url: str, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    async with oauth_app(db_url, slack_api, encryption_key=OLD_KEY) as (url, _):
        await install(url)
    rotated = cli(db_url, "rotate-key", cwd=tmp_path, ENCRYPTION_KEY=f"{NEW_KEY},{OLD_KEY}")
    assert rotated.returncode == 0 and "2 rows re-encrypted" in rotated.stdout, rotated.stderr
    only_new = SecretBox([NEW_KEY])
    assert {only_new.open(row["bot_token"]) for row in await raw_rows(db_url)} == {INSTALLED_TOKEN}
    again = cli(db_url, "rotate-key", cwd=tmp_path, ENCRYPTION_KEY=f"{NEW_KEY},{OLD_KEY}")
    assert again.returncode == 0 and "0 rows re-encrypted" in again.stdout


@pytest.mark.parametrize(
    "key, code, line",
    [
        (NEW_KEY, 1, "cannot rotate: a stored secret was sealed with a key ENCRYPTION_KEY lacks"),
        ("not-a-key", 2, "invalid setting ENCRYPTION_KEY: is not a comma-separated list"),
    ],
)
async def test_rotate_key_with_a_bad_key_is_one_line_and_changes_nothing(
    db_url: str, slack_api: FakeSlackApi, tmp_path: Path, key: str, code: int, line: str
) -> None:
    async with oauth_app(db_url, slack_api, encryption_key=OLD_KEY) as (url, _):
        await install(url)
    before = await raw_rows(db_url)
    result = cli(db_url, "rotate-key", cwd=tmp_path, ENCRYPTION_KEY=key)
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert result.returncode == code and len(lines) == 1 and lines[0].startswith(line), lines
    assert await raw_rows(db_url) == before


async def test_plain_tokens_from_before_are_read_then_sealed_by_a_rotation(
    db_url: str, slack_api: FakeSlackApi
) -> None:
    async with oauth_app(db_url, slack_api, encryption_key=OLD_KEY) as (url, _):
        await install(url)
    engine = make_async_engine(db_url)
    store = EncryptedInstallationStore("111.222", engine, box=SecretBox([OLD_KEY]))
    for table in (store.bots, store.installations):  # as rows stood before migration 0015
        async with engine.begin() as connection:
            await connection.execute(update(table).values(bot_token=INSTALLED_TOKEN))
    found = await store.async_find_bot(enterprise_id=None, team_id=slack_api.team_id)
    assert found is not None and found.bot_token == INSTALLED_TOKEN
    assert await reseal_stored_tokens(store) == 2
    await engine.dispose()
    assert all(row["bot_token"].startswith(PREFIX) for row in await raw_rows(db_url))


@pytest.mark.parametrize(
    "where",
    [
        {"DATABASE_URL": "postgresql://vizdots@127.0.0.1:1/vizdots"},
        {"APP_BASE_URL": "https://vizdots.example.com"},
    ],
)
def test_production_without_a_key_refuses_to_start(tmp_path: Path, where: dict[str, str]) -> None:
    env = {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}
    result = cli(f"sqlite:///{tmp_path}/x.db", "serve", "--port", "0", cwd=tmp_path,
                 **env, **where)  # fmt: skip
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("invalid setting ENCRYPTION_KEY: required")


def test_the_embedded_default_generates_its_key_once_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENCRYPTION_KEY")
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/vizdots.db", **OAUTH)
    sealed = secret_box(settings).seal(INSTALLED_TOKEN)
    key_file = encryption_key_file(settings)
    assert key_file == tmp_path / ".vizdots-encryption-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_box(settings).open(sealed) == INSTALLED_TOKEN  # the same key, reused


def test_a_key_that_is_no_fernet_key_is_one_clear_error() -> None:
    with pytest.raises(SettingsError, match=r"^invalid setting ENCRYPTION_KEY: is not a"):
        load_settings(encryption_key=f"{NEW_KEY},short")
