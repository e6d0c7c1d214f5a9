"""Wiring of the Slack integration (only when SLACK_SIGNING_SECRET and a token or OAuth
client are set): its channel, directory and App Home, then the Bolt app and routes.

POST /slack/events goes through `SlackIngress` before Bolt sees it: a body above
MAX_REQUEST_BYTES is a 413 (Content-Length checked, streamed bytes counted), an unsigned
or stale request a 401 and a body that is no Slack payload a 400 — each with one log
line that never holds the body (Bolt would log a failed signature's whole body).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.background import Background
from adapters.slack.app import RunCommand, SlackCore, SlackSettings, build_slack_app
from adapters.slack.channel import SlackChannel
from adapters.slack.clients import SlackClients
from adapters.slack.directory import SlackDirectory
from adapters.slack.encrypted_store import EncryptedInstallationStore
from adapters.slack.home import HomePublisher
from adapters.slack.ingress import SlackIngress, TokenBuckets
from adapters.slack.install import SlackInstaller
from adapters.slack.tokens import (
    BotIdentity,
    SingleTokenAuthorize,
    SlackTokens,
    StoredInstallationAuthorize,
)
from bot.settings import Settings, secret_values
from core.inbox import Inbox
from core.ports import Clock

log = logging.getLogger("vizdots.slack")
SINGLE_WORKSPACE_REF = "env:SLACK_BOT_TOKEN"
STATE_SECONDS = 600


@dataclass
class SlackParts:
    settings: SlackSettings
    clients: SlackClients
    channel: SlackChannel
    directory: SlackDirectory
    home: HomePublisher
    installer: SlackInstaller
    installation_store: AsyncSQLAlchemyInstallationStore | None
    state_store: AsyncSQLAlchemyOAuthStateStore | None
    max_request_bytes: int = 1_000_000
    identity: BotIdentity = field(default_factory=BotIdentity)
    background: Background = field(default_factory=lambda: Background(log))
    install_page_limit: TokenBuckets = field(default_factory=TokenBuckets)
    app: AsyncApp | None = None

    def routes(self) -> APIRouter:
        assert self.app is not None
        ingress = SlackIngress(
            app=self.app,
            verifiers=tuple(map(SignatureVerifier, self.signing_secrets())),
            max_bytes=self.max_request_bytes,
        )
        oauth = AsyncSlackRequestHandler(self.app)
        router = APIRouter(tags=["slack"])

        async def install_page(request: Request) -> Response:
            client = request.client.host if request.client else "unknown"
            if not self.install_page_limit.take(client):
                log.info("slack install page refused (429): too many requests from one client")
                return Response("Too many requests; try again in a minute.", status_code=429)
            return await oauth.handle(request)

        async def oauth_redirect(request: Request) -> Response:
            return await oauth.handle(request)

        router.add_api_route("/slack/events", ingress.events, methods=["POST"])
        router.add_api_route("/slack/install", install_page, methods=["GET"])
        router.add_api_route("/slack/oauth_redirect", oauth_redirect, methods=["GET"])
        return router

    def signing_secrets(self) -> tuple[str, ...]:
        """The current signing secret, then those still accepted during a rotation."""
        return (self.settings.signing_secret, *self.settings.previous_signing_secrets)

    async def install_single_workspace(self) -> None:
        """With SLACK_BOT_TOKEN: learn the bot's identity (once: requests never call
        auth.test), then install the workspace — audited only when something changed."""
        token = self.settings.bot_token
        if token is None:
            return
        client = self.clients.for_token(token)
        assert client is not None
        found = await client.auth_test()
        self.identity.team_id = found["team_id"]
        self.identity.bot_user_id = found.get("user_id")
        self.identity.bot_id = found.get("bot_id")
        await self.installer.refresh(
            team_id=found["team_id"],
            team_name=found.get("team") or found["team_id"],
            bot_user_id=found.get("user_id"),
            credentials_ref=SINGLE_WORKSPACE_REF,
        )

    async def keep_installing(self, *, every: float = 60.0) -> None:
        """Start-up install that survives Slack being unreachable: retried, 1 s first,
        then doubling up to `every` seconds."""
        wait = 1.0
        while True:
            try:
                await self.install_single_workspace()
                return
            except Exception as error:  # network or Slack error: try again later
                log.warning(
                    "slack workspace not installed yet (%s); retrying", type(error).__name__
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, every)

    async def purge_expired_states(self, now: datetime, *, batch: int = 1000) -> int:
        """Delete up to `batch` expired OAuth states (an install page never finished);
        how many went. For the worker loop; 0 without OAuth."""
        if self.state_store is None:
            return 0
        table = self.state_store.oauth_states
        expired = select(table.c.id).where(table.c.expire_at < normalize_datetime_for_db(now))
        async with self.state_store.engine.begin() as connection:
            result = await connection.execute(
                delete(table).where(table.c.id.in_(expired.limit(batch).scalar_subquery()))
            )
            return int(result.rowcount or 0)


def slack_settings(settings: Settings) -> SlackSettings:
    def secret(value: object) -> str | None:
        return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

    signing_secrets = secret_values(settings.slack_signing_secret)
    return SlackSettings(
        signing_secret=signing_secrets[0] if signing_secrets else "",
        previous_signing_secrets=signing_secrets[1:],
        bot_token=secret(settings.slack_bot_token),
        client_id=settings.slack_client_id,
        client_secret=secret(settings.slack_client_secret),
        api_url=str(settings.slack_api_url).rstrip("/") + "/" if settings.slack_api_url else None,
    )


def installation_store(settings: Settings, engine: AsyncEngine) -> EncryptedInstallationStore:
    """slack_sdk's OAuth installation store, its tokens encrypted with ENCRYPTION_KEY."""
    from bot.encryption import secret_box

    return EncryptedInstallationStore(
        settings.slack_client_id or "", engine, box=secret_box(settings)
    )


def build_slack_parts(
    settings: Settings,
    *,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> SlackParts:
    config = slack_settings(settings)
    oauth = config.bot_token is None and config.client_id is not None
    store = installation_store(settings, engine) if oauth else None
    tokens = SlackTokens(sessions=sessions, bot_token=config.bot_token, installation_store=store)
    clients = SlackClients(
        api_url=config.api_url, token_for_org=tokens.for_org, token_for_team=tokens.for_team
    )
    channel = SlackChannel(clients=clients, clock=clock)
    directory = SlackDirectory(clients=clients)
    installer = SlackInstaller(
        sessions=sessions,
        directory=directory,
        channel=channel,
        clock=clock,
        default_timezone=settings.default_timezone,
        trial=timedelta(days=settings.trial_days),
    )
    return SlackParts(
        settings=config,
        clients=clients,
        channel=channel,
        directory=directory,
        home=HomePublisher(sessions=sessions, clock=clock, clients=clients),
        installer=installer,
        installation_store=store,
        state_store=AsyncSQLAlchemyOAuthStateStore(STATE_SECONDS, engine) if oauth else None,
        max_request_bytes=settings.max_request_bytes,
    )


def attach_slack_app(parts: SlackParts, *, inbox: Inbox, run_command: RunCommand) -> None:
    installer = parts.installer
    core = SlackCore(
        inbox=inbox,
        run_command=run_command,
        installer=installer,
        home=parts.home,
        sessions=installer.sessions,
        clock=installer.clock,
        identity=parts.identity,
        background=parts.background,
    )
    parts.app = build_slack_app(
        settings=parts.settings,
        core=core,
        authorize=_authorize(parts),
        client=_bolt_client(parts),
        installation_store=parts.installation_store,
        state_store=parts.state_store,
    )


def _authorize(parts: SlackParts) -> SingleTokenAuthorize | StoredInstallationAuthorize:
    if parts.settings.bot_token is not None:
        return SingleTokenAuthorize(token=parts.settings.bot_token, identity=parts.identity)
    assert parts.installation_store is not None
    return StoredInstallationAuthorize(store=parts.installation_store)


def _bolt_client(parts: SlackParts) -> AsyncWebClient:
    """Bolt's per-request clients copy this one (no token: authorize sets it) and log
    through the SDK logger that SlackClients holds at INFO (no bodies at DEBUG)."""
    return AsyncWebClient(
        base_url=parts.settings.api_url or AsyncWebClient.BASE_URL,
        logger=logging.getLogger("vizdots.slack.sdk"),
    )
