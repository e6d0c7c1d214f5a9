"""Wiring of the Slack integration (only when SLACK_SIGNING_SECRET and a token or OAuth
client are set): its channel, directory and App Home, then the Bolt app and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.slack.app import SlackCore, SlackSettings, build_slack_app
from adapters.slack.channel import SlackChannel
from adapters.slack.clients import SlackClients
from adapters.slack.directory import SlackDirectory
from adapters.slack.home import HomePublisher
from adapters.slack.install import SlackInstaller
from adapters.slack.tokens import SlackTokens
from bot.settings import Settings
from core.inbound import CommandRequest
from core.inbox import Inbox
from core.ports import Clock

log = logging.getLogger("vizdots.slack")
SINGLE_WORKSPACE_REF = "env:SLACK_BOT_TOKEN"


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
    app: AsyncApp | None = None

    def routes(self) -> APIRouter:
        assert self.app is not None
        handler = AsyncSlackRequestHandler(self.app)
        router = APIRouter(tags=["slack"])

        async def handle(request: Request) -> Response:
            return await handler.handle(request)

        router.add_api_route("/slack/events", handle, methods=["POST"])
        router.add_api_route("/slack/install", handle, methods=["GET"])
        router.add_api_route("/slack/oauth_redirect", handle, methods=["GET"])
        return router

    async def install_single_workspace(self) -> None:
        """With SLACK_BOT_TOKEN: the token's workspace becomes an org, members synced."""
        token = self.settings.bot_token
        if token is None:
            return
        client = self.clients.for_token(token)
        assert client is not None
        identity = await client.auth_test()
        await self.installer.install(
            team_id=identity["team_id"],
            team_name=identity.get("team") or identity["team_id"],
            bot_user_id=identity.get("user_id"),
            installer=None,
            credentials_ref=SINGLE_WORKSPACE_REF,
        )

    async def keep_installing(self, *, every: float = 60.0) -> None:
        """Start-up install that survives Slack being briefly unreachable: retried."""
        while True:
            try:
                await self.install_single_workspace()
                return
            except Exception as error:  # network or Slack error: try again later
                log.warning(
                    "slack workspace not installed yet (%s); retrying", type(error).__name__
                )
                await asyncio.sleep(every)


def slack_settings(settings: Settings) -> SlackSettings:
    def secret(value: object) -> str | None:
        return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

    return SlackSettings(
        signing_secret=secret(settings.slack_signing_secret) or "",
        bot_token=secret(settings.slack_bot_token),
        client_id=settings.slack_client_id,
        client_secret=secret(settings.slack_client_secret),
        api_url=str(settings.slack_api_url).rstrip("/") + "/" if settings.slack_api_url else None,
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
    store = AsyncSQLAlchemyInstallationStore(config.client_id or "", engine) if oauth else None
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
    )
    return SlackParts(
        settings=config,
        clients=clients,
        channel=channel,
        directory=directory,
        home=HomePublisher(sessions=sessions, clock=clock, clients=clients),
        installer=installer,
        installation_store=store,
        state_store=AsyncSQLAlchemyOAuthStateStore(600, engine) if oauth else None,
    )


def attach_slack_app(
    parts: SlackParts,
    *,
    inbox: Inbox,
    run_command: Callable[[CommandRequest], Awaitable[str]],
) -> None:
    core = SlackCore(
        inbox=inbox,
        run_command=run_command,
        installer=parts.installer,
        home=parts.home,
    )
    parts.app = build_slack_app(
        settings=parts.settings,
        core=core,
        installation_store=parts.installation_store,
        state_store=parts.state_store,
    )
