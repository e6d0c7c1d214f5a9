"""Wiring of the Teams integration (MICROSOFT_APP_ID, or TEAMS_EMULATOR for a local
Bot Framework Emulator): its channel, installer and the /api/messages route.

`teams_routes` always serves POST /api/messages: without Teams configured it answers
503 saying so (and imports no SDK), so a misconfigured Azure bot gets a clear answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from core.ports import Clock

if TYPE_CHECKING:
    from adapters.teams.app import TeamsApp
    from adapters.teams.channel import TeamsChannel
    from adapters.teams.channel_posts import TeamsChannelPoster
    from adapters.teams.config import TeamsSettings
    from adapters.teams.connector import ConnectorTokens
    from adapters.teams.directory import TeamsDirectory
    from adapters.teams.install import TeamsInstaller
    from core.inbox import Inbox

log = logging.getLogger("vizdots.teams")
NOT_CONFIGURED = "Teams is not configured: set MICROSOFT_APP_ID (see README, Microsoft Teams)."


@dataclass
class TeamsParts:
    settings: TeamsSettings
    channel: TeamsChannel
    installer: TeamsInstaller
    directory: TeamsDirectory
    #: Team digests posted in a team channel.
    poster: TeamsChannelPoster
    app: TeamsApp | None = None


def teams_settings(settings: Settings) -> TeamsSettings:
    from adapters.teams.config import TeamsSettings

    password = settings.microsoft_app_password
    return TeamsSettings(
        app_id=settings.microsoft_app_id,
        app_password=password.get_secret_value() if password is not None else None,
        tenant_id=settings.microsoft_app_tenant_id,
        emulator=settings.teams_emulator,
        max_request_bytes=settings.max_request_bytes,
        default_timezone=settings.default_timezone,
    )


def build_teams_parts(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    tokens: ConnectorTokens | None = None,
) -> TeamsParts | None:
    """None unless an app id is set or the emulator mode is on. `tokens`: where connector
    tokens come from (default: MSAL with the app's credentials; none for the emulator)."""
    config = teams_settings(settings)
    if not config.configured:
        return None
    from adapters.teams.channel import TeamsChannel
    from adapters.teams.channel_posts import TeamsChannelPoster
    from adapters.teams.connector import Connector, MsalTokens, NoTokens
    from adapters.teams.directory import TeamsDirectory
    from adapters.teams.install import TeamsInstaller

    if config.anonymous:
        log.warning(
            "Teams emulator mode: /api/messages accepts activities WITHOUT authentication "
            "(TEAMS_EMULATOR=true, no MICROSOFT_APP_ID); never expose this to a network"
        )
    connector = Connector(tokens=tokens or (NoTokens() if config.anonymous else MsalTokens(config)))
    installer = TeamsInstaller(
        sessions=sessions, connector=connector, clock=clock,
        default_timezone=settings.default_timezone, trial=timedelta(days=settings.trial_days),
    )  # fmt: skip
    return TeamsParts(
        settings=config,
        channel=TeamsChannel(connector=connector, sessions=sessions, clock=clock),
        installer=installer,
        directory=TeamsDirectory(sessions=sessions, connector=connector),
        poster=TeamsChannelPoster(connector=connector, sessions=sessions),
    )


def attach_teams_app(parts: TeamsParts, *, inbox: Inbox) -> None:
    from adapters.teams.app import TeamsApp

    parts.app = TeamsApp(settings=parts.settings, inbox=inbox, installer=parts.installer)


def teams_routes(parts: TeamsParts | None) -> APIRouter:
    router = APIRouter(tags=["teams"])
    if parts is not None and parts.app is not None:
        router.add_api_route("/api/messages", parts.app.messages, methods=["POST"])
        return router

    async def not_configured() -> JSONResponse:
        return JSONResponse({"error": NOT_CONFIGURED}, status_code=503)

    router.add_api_route("/api/messages", not_configured, methods=["POST"])
    return router
