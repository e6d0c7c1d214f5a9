"""Which bot token speaks for a workspace: the one SLACK_BOT_TOKEN, or the OAuth store's;
and how Bolt authorizes a request without calling Slack.

Only workspaces whose installation is active get a token, so an uninstalled workspace
is never written to again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider
from core.store.models import Installation


class SlackTokens:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        bot_token: str | None,
        installation_store: AsyncInstallationStore | None,
    ) -> None:
        self.sessions = sessions
        self.bot_token = bot_token
        self.installation_store = installation_store

    async def for_team(self, team_id: str) -> str | None:
        if not await self._active(Installation.external_id == team_id):
            return None
        return await self._stored_token(team_id)

    async def for_org(self, org_id: int) -> str | None:
        team_id = await self._active(Installation.org_id == org_id)
        return await self._stored_token(team_id) if team_id else None

    async def _stored_token(self, team_id: str) -> str | None:
        if self.bot_token is not None:
            return self.bot_token
        if self.installation_store is None:
            return None
        bot = await self.installation_store.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot is not None else None

    async def _active(self, condition: object) -> str | None:
        """The team id of the active Slack installation matching `condition`, if any."""
        async with self.sessions() as db:
            return await db.scalar(
                select(Installation.external_id).where(
                    Installation.provider == Provider.SLACK.value,
                    Installation.active.is_(True),
                    condition,  # type: ignore[arg-type]
                )
            )


@dataclass
class BotIdentity:
    """Who the bot is in its workspace, learnt once (auth.test at start-up), never per
    request: acknowledging an event must not wait on Slack's Web API."""

    team_id: str | None = None
    bot_user_id: str | None = None
    bot_id: str | None = None


class SingleTokenAuthorize(AsyncAuthorize):
    """SLACK_BOT_TOKEN mode: every request speaks with the one token, the bot's identity
    from the cache (unknown until start-up reached Slack: then the bot's own messages are
    still ignored by their bot_id, by the message listener)."""

    def __init__(self, *, token: str, identity: BotIdentity) -> None:
        self.token = token
        self.identity = identity

    async def __call__(  # type: ignore[override]
        self, *, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or self.identity.team_id,
            bot_token=self.token,
            bot_user_id=self.identity.bot_user_id,
            bot_id=self.identity.bot_id,
        )


class StoredInstallationAuthorize(AsyncAuthorize):
    """OAuth mode: the installation store already holds the bot's token, user id and bot
    id, so no auth.test is made (Bolt's default authorize calls it on every request)."""

    def __init__(self, *, store: AsyncInstallationStore) -> None:
        self.store = store

    async def __call__(  # type: ignore[override]
        self, *, context: Any, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> AuthorizeResult | None:
        found = await self.store.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=context.is_enterprise_install,
        )
        if found is None or not found.bot_token:
            return None
        return AuthorizeResult(
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            bot_token=found.bot_token,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            bot_scopes=found.bot_scopes,
        )
