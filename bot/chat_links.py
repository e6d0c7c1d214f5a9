"""ChatLinks for reminder emails: each provider's deep link, from what the app knows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider
from core.ports import MemberAddress
from core.store.models import Installation


class DeepLinks:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        teams_app_id: str | None = None,
        dev_chat_url: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._teams_app_id = teams_app_id
        self._dev_chat_url = dev_chat_url

    async def chat_link(self, to: MemberAddress, provider: Provider) -> str | None:
        if provider is Provider.SLACK and to.slack_dm_channel_id:
            from adapters.slack.links import slack_dm_link

            team = await self._slack_team(to.org_id)
            if team is None:
                return None
            return slack_dm_link(team_id=team, dm_channel_id=to.slack_dm_channel_id)
        if provider is Provider.TEAMS and self._teams_app_id:
            from adapters.teams.links import teams_chat_link

            return teams_chat_link(app_id=self._teams_app_id)
        if provider is Provider.DEV:
            return self._dev_chat_url
        return None

    async def _slack_team(self, org_id: int) -> str | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(Installation.external_id).where(
                    Installation.org_id == org_id,
                    Installation.provider == Provider.SLACK.value,
                    Installation.active.is_(True),
                )
            )
