"""The one settings object: every environment variable VizDots reads, validated at start-up."""

from __future__ import annotations

import logging
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.slack.timeouts import CALL_TIMEOUT_SECONDS as SLACK_CALL_SECONDS
from adapters.teams.timeouts import CALL_TIMEOUT_SECONDS as TEAMS_CALL_SECONDS
from core.reminder_slots import ReminderSlots, parse_slots

log = logging.getLogger("vizdots.settings")

Secret = Annotated[SecretStr | None, Field(default=None)]
OptionalUrl = Annotated[AnyHttpUrl | None, Field(default=None)]


class Settings(BaseSettings):
    """Read from the environment (and a `.env` file); field names are the variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    database_url: str = "sqlite:///./vizdots.db"
    #: PostgreSQL row-level security (migration 0017): every transaction names the
    #: organisation it works for. Connect as a role that does not own the tables.
    row_security: bool = False
    #: PostgreSQL connections each process keeps open, and how many more it may open while
    #: busy (docs/operations.md: PostgreSQL connections). Ignored for SQLite.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    app_base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")
    default_timezone: str = "UTC"
    session_grace_hours: int = Field(default=2, ge=0, le=48)
    log_level: str = "INFO"
    #: "json": one JSON object per log line (time, level, logger, message, request_id,
    #: org_id); "text": human-readable lines.
    log_format: Literal["text", "json"] = "text"
    #: Bearer token GET /metrics requires; unset: /metrics answers loopback clients only.
    metrics_token: Secret
    #: The unauthenticated local web chat (/dev) when no Slack or Teams is configured:
    #: None = only when `vizdots serve` listens on a loopback address.
    dev_chat: bool | None = None

    openai_api_key: Secret
    openai_model: str = "gpt-4o-mini"
    openai_base_url: OptionalUrl
    openai_timeout_seconds: float = Field(default=20.0, gt=0)
    openai_max_retries: int = Field(default=2, ge=0, le=10)

    #: Inbound turns a worker takes at once (waiting on the model costs no database
    #: connection, so this can be far above the pool size).
    worker_concurrency: int = Field(default=64, ge=1, le=1000)
    #: A claimed inbound event or outgoing message whose worker went silent this long is
    #: taken over by another worker: longer than any outside call a claim covers
    #: (`outside_calls`), or a send still in flight would be sent twice.
    claim_timeout_seconds: float = Field(default=120.0, gt=0)
    #: Processed inbox rows and finished outbox rows are kept this long, then purged.
    retention_days: int = Field(default=7, ge=1, le=365)
    #: Sessions one /api/internal/scheduler call delivers; the rest are left to workers.
    scheduler_batch: int = Field(default=200, ge=1, le=10000)
    #: Largest request body accepted (bytes): Slack's and Teams' largest payloads fit.
    max_request_bytes: int = Field(default=1_000_000, ge=10_000)

    #: The four rotating secrets take "current,previous" during a rotation (README:
    #: Rotating secrets); `secret_values` reads them, current first.
    scheduler_secret: Secret
    scheduler_reminders_secret: Secret
    reminder_slots: str = "09:00,14:00"
    reminder_weekdays: str = "mon-fri"
    #: Reminder steps (nudges, emails) one /api/internal/reminders call takes.
    reminder_batch: int = Field(default=200, ge=1, le=100_000)

    #: Stripe's secret API key (sk_live_…, or a restricted rk_ key); STRIPE_API_KEY works too.
    stripe_secret_key: Annotated[
        SecretStr | None,
        Field(default=None, validation_alias=AliasChoices("stripe_secret_key", "stripe_api_key")),
    ]
    #: The $29/month base price (quantity 1) and the $3/month per-seat price.
    stripe_base_price_id: str | None = None
    stripe_seat_price_id: str | None = None
    stripe_webhook_secret: Secret
    #: Another Stripe API base (tests, staging fakes); unset: https://api.stripe.com.
    stripe_api_base: OptionalUrl
    #: Where Checkout and the customer portal send the admin back; unset: APP_BASE_URL.
    billing_return_url: OptionalUrl
    #: A new organisation's trial, from its install.
    trial_days: int = Field(default=14, ge=0, le=365)
    #: A past_due organisation keeps its check-ins this long after the failed payment.
    billing_grace_days: int = Field(default=7, ge=0, le=90)
    #: Seat changes wait this long for company before one Stripe update (coalescing).
    seat_sync_delay_seconds: float = Field(default=5.0, ge=0, le=3600)

    aws_ses_access_key_id: Secret
    aws_ses_secret_access_key: Secret
    aws_ses_region: str = "us-east-1"
    aws_ses_endpoint_url: OptionalUrl
    email_from: str = "noreply@vizdots.com"
    aws_ses_configuration_set: str | None = None
    #: Emails a second; None: the account's MaxSendRate, read at start-up.
    ses_max_send_rate: float | None = Field(default=None, gt=0)
    #: Where emails are written as .eml files when SES is not configured.
    email_outbox_dir: Path = Path("outbox")

    #: Signs the links emails carry (check-in page, unsubscribe). Unset: a per-install
    #: secret generated once into LINK_SECRET_FILE (one machine only).
    link_signing_secret: Secret
    link_secret_file: str = ".vizdots-link-secret"
    link_max_age_hours: int = Field(default=72, ge=1, le=24 * 30)
    #: Only SNS messages from this topic are accepted at /api/email/ses-events (if set).
    ses_sns_topic_arn: str | None = None
    #: FOR TESTS AND LOCAL FAKES ONLY: one more URL prefix (e.g. http://127.0.0.1:8123/)
    #: trusted for SNS signing certificates and SubscribeURLs, besides
    #: https://sns.<region>.amazonaws.com[.cn]/. Signatures are verified all the same.
    sns_trusted_url_prefix: str | None = None

    slack_signing_secret: Secret
    slack_bot_token: Secret
    slack_client_id: str | None = None
    slack_client_secret: Secret
    slack_api_url: OptionalUrl

    microsoft_app_id: str | None = None
    microsoft_app_password: Secret
    microsoft_app_tenant_id: str | None = None
    #: Accept unauthenticated activities from a local Bot Framework Emulator; only
    #: without MICROSOFT_APP_ID (a warning is logged at start-up).
    teams_emulator: bool = False

    #: Fernet keys (comma-separated: the first encrypts, all decrypt) for the secrets
    #: VizDots stores (Slack OAuth workspace tokens). Required in production when Slack
    #: OAuth is configured; on the embedded default a key is generated once into
    #: ENCRYPTION_KEY_FILE beside the SQLite file. README: Rotating secrets.
    encryption_key: Annotated[SecretStr | None, Field(default=None, validate_default=True)]

    @field_validator("link_signing_secret")
    @classmethod
    def _link_secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("needs at least 16 characters (openssl rand -hex 32)")
        return value

    @field_validator(
        "scheduler_secret",
        "scheduler_reminders_secret",
        "slack_signing_secret",
        "stripe_webhook_secret",
    )
    @classmethod
    def _rotating_secret_has_a_value(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not secret_values(value):
            raise ValueError("holds no value (give the current one, then ',previous' if any)")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _encryption_key_reads(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        from core.store.cipher import BadKey, read_keys

        if value is not None:
            try:
                read_keys(secret_values(value))
            except BadKey as error:
                raise ValueError(str(error).removeprefix("ENCRYPTION_KEY ")) from None
        elif _stores_slack_tokens(info.data) and not _embedded_default(info.data):
            raise ValueError(
                "required to encrypt the Slack tokens VizDots stores (Slack OAuth) outside "
                "the embedded default; generate one with `vizdots rotate-key --new-key`"
            )
        return value

    @model_validator(mode="after")
    def _claims_outlast_outside_calls(self) -> Settings:
        calls = self.outside_calls()
        if calls:
            longest = max(calls, key=calls.__getitem__)
            if self.claim_timeout_seconds <= calls[longest]:
                raise ValueError(
                    f"CLAIM_TIMEOUT_SECONDS: must be more than {calls[longest]:g} seconds, not "
                    f"{self.claim_timeout_seconds:g} ({longest} may take that long; a shorter "
                    "claim lets a second worker take over work in flight and do it twice)"
                )
        return self

    def outside_calls(self) -> dict[str, float]:
        """How long (seconds) one call a claim covers may take, per configured service."""
        tries = self.openai_max_retries + 1
        calls = {
            "teams": ("a Teams connector call", TEAMS_CALL_SECONDS),
            "slack": ("a Slack Web API call", SLACK_CALL_SECONDS),
            "openai": (
                f"an OpenAI call of {tries} tries of {self.openai_timeout_seconds:g} s",
                self.openai_timeout_seconds * tries,
            ),
        }
        on = self.integrations()
        return dict(call for service, call in calls.items() if on[service])

    def embedded_default(self) -> bool:
        """SQLite and a loopback APP_BASE_URL: one machine, its data in one folder."""
        return _embedded_default(self.model_dump(include={"database_url", "app_base_url"}))

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite:/// and postgresql:// URLs are supported")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone_is_iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone name") from None
        return value

    @field_validator("reminder_slots")
    @classmethod
    def _slots_are_times(cls, value: str) -> str:
        for slot in value.split(","):
            try:
                time.fromisoformat(slot.strip())
            except ValueError:
                raise ValueError(f"{slot!r} is not HH:MM") from None
        return value

    @field_validator("reminder_weekdays")
    @classmethod
    def _weekdays_read(cls, value: str) -> str:
        from core.commands.values import WordError, read_weekdays

        try:
            read_weekdays(value)
        except WordError as error:
            raise ValueError(f"{error} (like mon-fri or mon,wed,fri)") from None
        return value

    def reminder_slot_rules(self) -> ReminderSlots:
        from core.commands.values import read_weekdays

        return ReminderSlots(
            times=parse_slots(self.reminder_slots), weekdays=read_weekdays(self.reminder_weekdays)
        )

    def integrations(self) -> dict[str, bool]:
        """Which outside services have the credentials they need."""
        return {
            "openai": self.openai_api_key is not None,
            "slack": self.slack_signing_secret is not None
            and (self.slack_bot_token is not None or self.slack_client_id is not None),
            "teams": self.microsoft_app_id is not None or self.teams_emulator,
            "stripe": self.stripe_secret_key is not None
            and self.stripe_base_price_id is not None
            and self.stripe_seat_price_id is not None,
            "email": self.aws_ses_access_key_id is not None
            and self.aws_ses_secret_access_key is not None,
        }

    def log_disabled_integrations(self) -> None:
        for name, enabled in self.integrations().items():
            if not enabled:
                log.info("%s integration disabled: its credentials are not set", name)


def _stores_slack_tokens(values: dict[str, object]) -> bool:
    """Slack OAuth: the installation store keeps each workspace's tokens."""
    return values.get("slack_client_id") is not None and values.get("slack_bot_token") is None


def _embedded_default(values: dict[str, object]) -> bool:
    url, base = values.get("database_url"), values.get("app_base_url")
    if not isinstance(url, str) or not isinstance(base, AnyHttpUrl):
        return False
    host = base.host or ""
    local = host == "localhost" or host.startswith("127.") or host in {"::1", "[::1]"}
    return make_url(url).get_backend_name() == "sqlite" and local


def encryption_key_file(settings: Settings) -> Path:
    """Where the embedded default keeps its generated key: beside the SQLite file."""
    database = make_url(settings.database_url).database or "vizdots.db"
    return Path(database).resolve().parent / ".vizdots-encryption-key"


def secret_values(value: SecretStr | None) -> tuple[str, ...]:
    """A rotating secret's values, current first: "new,old" while a rotation is under way
    (SCHEDULER_SECRET, SCHEDULER_REMINDERS_SECRET, SLACK_SIGNING_SECRET,
    STRIPE_WEBHOOK_SECRET, ENCRYPTION_KEY). None or blank: no value."""
    if value is None:
        return ()
    return tuple(part.strip() for part in value.get_secret_value().split(",") if part.strip())


class SettingsError(Exception):
    """Start-up configuration is invalid; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            reason = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:  # a check of several variables names them in its reason
                reason = f"{str(error['loc'][0]).upper()}: {reason}"
            lines.append(f"invalid setting {reason}")
        raise SettingsError("; ".join(lines)) from None
