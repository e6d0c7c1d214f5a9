"""manifest.yml asks for exactly what the code uses, and lets members reply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from adapters.slack.app import BOT_SCOPES
from bot.cli import app

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_the_bot_scopes_are_those_the_oauth_flow_requests(manifest: dict[str, Any]) -> None:
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_members_can_reply_in_the_messages_tab(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]


def test_the_events_are_the_ones_the_app_listens_to(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == ["app_home_opened", "app_uninstalled", "message.im", "tokens_revoked"]


def test_everything_arrives_at_slack_events(manifest: dict[str, Any]) -> None:
    [command] = manifest["features"]["slash_commands"]
    settings = manifest["settings"]
    urls = {command["url"], settings["event_subscriptions"]["request_url"]}
    urls.add(settings["interactivity"]["request_url"])
    assert urls == {"https://vizdots.example.com/slack/events"}
    assert command["command"] == "/vizdots" and command["should_escape"] is True


def test_slack_manifest_prints_urls_on_the_apps_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_BASE_URL", "https://checkins.acme.io")
    result = CliRunner().invoke(app, ["slack-manifest"])
    printed = yaml.safe_load(result.stdout)
    assert printed["oauth_config"]["redirect_urls"] == [
        "https://checkins.acme.io/slack/oauth_redirect"
    ]
    assert "vizdots.example.com" not in result.stdout
