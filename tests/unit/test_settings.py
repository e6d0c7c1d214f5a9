"""Settings: invalid values stop start-up with a line naming the variable."""

from __future__ import annotations

import logging

import pytest

from bot.settings import SettingsError, load_settings


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
