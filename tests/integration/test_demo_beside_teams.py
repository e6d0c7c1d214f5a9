"""`vizdots demo` and the terminal chat work the same with Teams configured or not: the
demo team (an organisation no chat was installed in) is reached through the dev chat,
never through Teams; Teams members are never reached through the dev chat; /dev, which
is unauthenticated, is served only when no real chat is configured."""

from __future__ import annotations

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import build_services
from bot.settings import load_settings
from core.domain import Provider
from tests.integration.test_cli import (
    BEN,
    BEN_ANSWERS,
    CHAT_AT,
    DEMO_AT,
    demo_daily_report,
    vizdots,
)

TEAMS = {
    "none": {},
    "emulator": {"TEAMS_EMULATOR": "true"},
    "app-id": {"MICROSOFT_APP_ID": "00000000-0000-0000-0000-0000000a9901",
               "MICROSOFT_APP_PASSWORD": "x", "MICROSOFT_APP_TENANT_ID": "t"},
}  # fmt: skip


@pytest.mark.parametrize("teams", list(TEAMS), ids=list(TEAMS))
def test_the_demo_and_the_terminal_chat_with_teams_configured_or_not(
    db_url: str, teams: str
) -> None:
    env = TEAMS[teams]
    demo = vizdots(db_url, "demo", "--now", DEMO_AT, **env)
    assert demo.returncode == 0, demo.stderr
    assert "6 check-ins delivered" in demo.stdout
    before = demo_daily_report(db_url, **env)["completed"]  # the demo team's history
    chat = vizdots(db_url, "chat", "--member", BEN, "--now", CHAT_AT, stdin=BEN_ANSWERS, **env)
    assert chat.returncode == 0, chat.stderr
    assert "How are you feeling today" in chat.stdout and "(check-in completed)" in chat.stdout
    assert "ERROR" not in chat.stderr and "given up" not in chat.stderr, chat.stderr
    daily = demo_daily_report(db_url, **env)
    assert daily["completed"] == before + 1 and daily["recent"]["focus"][0]["text"] == "PRs"


@pytest.mark.parametrize(("teams", "served"), [("none", True), ("emulator", False)])
async def test_the_web_chat_is_served_only_without_a_real_chat(
    db_url: str, teams: str, served: bool
) -> None:
    settings = load_settings(database_url=db_url, teams_emulator=teams == "emulator")
    services = build_services(settings, loop_interval=None)
    assert services.channels.get(Provider.DEV) is not None  # the demo team's channel
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/dev")
    await services.close()
    assert (page.status_code == 200) is served
