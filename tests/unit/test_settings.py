"""Settings: invalid values stop start-up with a line naming the variable."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.slack.timeouts import CALL_TIMEOUT_SECONDS as SLACK_CALL_SECONDS
from adapters.teams.timeouts import CALL_TIMEOUT_SECONDS as TEAMS_CALL_SECONDS
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DATABASE_URL", "DEFAULT_TIMEZONE", "OPENAI_API_KEY", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_database_url_defaults_to_a_local_sqlite_file() -> None:
    assert load_settings().database_url == "sqlite:///./vizdots.db"


def test_malformed_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    with pytest.raises(SettingsError, match=r"^invalid setting DATABASE_URL: not a database URL"):
        load_settings()


def test_unsupported_database_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u@h/db")
    with pytest.raises(SettingsError, match="DATABASE_URL: only sqlite"):
        load_settings()


def test_timezone_must_be_an_iana_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(SettingsError, match="DEFAULT_TIMEZONE: 'Mars/Olympus' is not an IANA"):
        load_settings()


def test_malformed_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_BASE_URL", "localhost without scheme")
    with pytest.raises(SettingsError, match="APP_BASE_URL"):
        load_settings()


def test_every_bad_variable_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "nope")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Nowhere")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "DATABASE_URL" in str(error.value) and "DEFAULT_TIMEZONE" in str(error.value)


def test_missing_credentials_disable_integrations_with_one_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings()
    with caplog.at_level(logging.INFO, logger="vizdots.settings"):
        settings.log_disabled_integrations()
    assert sorted(r.getMessage().split()[0] for r in caplog.records) == [
        "email", "openai", "slack", "stripe", "teams",
    ]  # fmt: skip


def test_secrets_are_not_shown_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    assert "sk-very-secret" not in repr(load_settings())


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    settings = load_settings()
    assert settings.openai_base_url is None and not settings.integrations()["openai"]


# --- CLAIM_TIMEOUT_SECONDS outlasts every outside call a claim covers -------------------------
def test_a_claim_shorter_than_a_teams_connector_call_is_refused() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(teams_emulator=True, claim_timeout_seconds=15)
    assert str(error.value) == (
        f"invalid setting CLAIM_TIMEOUT_SECONDS: must be more than {TEAMS_CALL_SECONDS:g} "
        "seconds, not 15 (a Teams connector call may take that long; a shorter claim lets a "
        "second worker take over work in flight and do it twice)"
    )


def test_a_claim_as_long_as_a_teams_connector_call_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^invalid setting CLAIM_TIMEOUT_SECONDS: "):
        load_settings(teams_emulator=True, claim_timeout_seconds=TEAMS_CALL_SECONDS)


def test_a_claim_longer_than_a_teams_connector_call_is_taken() -> None:
    settings = load_settings(teams_emulator=True, claim_timeout_seconds=TEAMS_CALL_SECONDS + 1)
    assert settings.claim_timeout_seconds == TEAMS_CALL_SECONDS + 1


def test_a_claim_shorter_than_a_slack_call_is_refused() -> None:
    slack = {"slack_signing_secret": "s3cret", "slack_bot_token": "xoxb-1"}
    with pytest.raises(SettingsError, match=f"more than {SLACK_CALL_SECONDS:g} seconds, not 10"):
        load_settings(claim_timeout_seconds=10, **slack)


def test_a_claim_must_outlast_an_openai_call_with_all_its_tries() -> None:
    model = {"openai_api_key": "sk-test", "openai_timeout_seconds": 20, "openai_max_retries": 2}
    with pytest.raises(SettingsError, match=r"more than 60 seconds, not 45 \(an OpenAI call of 3"):
        load_settings(claim_timeout_seconds=45, **model)


def test_the_longest_configured_call_sets_the_minimum() -> None:
    both = {"teams_emulator": True, "openai_api_key": "sk-test", "openai_max_retries": 0}
    with pytest.raises(SettingsError, match=r"more than 30 seconds, not 25 \(an OpenAI call"):
        load_settings(claim_timeout_seconds=25, openai_timeout_seconds=30, **both)


def test_a_service_not_configured_sets_no_minimum() -> None:
    assert load_settings(claim_timeout_seconds=5).claim_timeout_seconds == 5


def test_the_default_claim_outlasts_every_outside_call() -> None:
    everything = {"teams_emulator": True, "openai_api_key": "sk-test"}
    settings = load_settings(slack_signing_secret="s", slack_bot_token="xoxb-1", **everything)
    assert set(settings.outside_calls()) == {
        "a Teams connector call", "a Slack Web API call", "an OpenAI call of 3 tries of 20 s",
    }  # fmt: skip
    assert settings.claim_timeout_seconds > max(settings.outside_calls().values())


def test_the_cli_refuses_a_short_claim_in_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environment |= {"PYTHONPATH": str(ROOT), "TEAMS_EMULATOR": "true",
                    "CLAIM_TIMEOUT_SECONDS": "15"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "plan", "--now", "2026-11-25T12:00:00+00:00"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "invalid setting CLAIM_TIMEOUT_SECONDS: must be more than 20 seconds, not 15 "
        "(a Teams connector call may take that long; a shorter claim lets a second worker "
        "take over work in flight and do it twice)"
    ]
    assert not (tmp_path / "vizdots.db").exists()  # refused before anything was touched
