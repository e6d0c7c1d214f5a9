"""Which bot token speaks for a workspace: the one SLACK_BOT_TOKEN, or the OAuth store's.

Only workspaces whose installation is active get a token, so an uninstalled workspace
is never written to again.
"""

from __future__ import annotations

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
