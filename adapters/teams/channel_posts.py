"""Teams as a ChannelPoster: a team digest as a new post in a team channel.

A proactive post to a channel is a conversation created in it (POST /v3/conversations
with channelData.channel and the activity: the Bot Framework's way to start a thread in
a channel). The connector to call is the serviceUrl stored when the bot was added to the
org's team (teams_teams), and the bot's id is the installation's. Teams offers no look-up
of what the bot posted, so `find_posted` says "unknown" and a digest whose outcome a crash
left unknown is posted once more (the duplicate window). 403/404 (the bot is not in that
team, the channel is gone) are permanent; the reason says what to do.
"""

from __future__ import annotations

import logging

from microsoft_agents.activity import ConversationParameters
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.teams.cards import message_activity
from adapters.teams.connector import Connector, TeamsDeliveryError, translated
from core.domain import Provider
from core.ports import ChatPlace, DeliveryError, OutgoingMessage, SentMessage
from core.store.models import Installation, TeamsTeam

log = logging.getLogger("vizdots.teams")


class TeamsChannelPoster:
    provider = Provider.TEAMS

    def __init__(self, *, connector: Connector, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._connector = connector
        self._sessions = sessions

    async def post(self, to: ChatPlace, message: OutgoingMessage) -> SentMessage:
        service_url, bot_id = await self._where(to)
        parameters = ConversationParameters.model_validate(
            {
                "isGroup": True,
                "bot": {"id": bot_id, "name": "VizDots"},
                "tenantId": to.workspace,
                "channelData": {"channel": {"id": to.channel}, "tenant": {"id": to.workspace}},
                "activity": message_activity(message),
            }
        )
        async with self._connector.client(service_url) as client:
            try:
                with translated("channel post", member_id=None):
                    created = await client.conversations.create_conversation(parameters)
            except TeamsDeliveryError as error:
                raise _channel_error(error) from None
        posted = created.activity_id or created.id
        if not posted:
            raise DeliveryError("Teams accepted the post without an id", retryable=False)
        return SentMessage(message_id=str(posted))

    async def find_posted(self, to: ChatPlace, key: str) -> SentMessage | None:
        return None  # Teams cannot list what the bot posted

    async def _where(self, to: ChatPlace) -> tuple[str, str]:
        """The connector's serviceUrl and the bot's id for the org's tenant."""
        async with self._sessions() as db:
            service_url = await db.scalar(
                select(TeamsTeam.service_url)
                .where(TeamsTeam.org_id == to.org_id, TeamsTeam.active.is_(True))
                .order_by(TeamsTeam.id.desc())
            )
            bot_id = await db.scalar(
                select(Installation.bot_user_id).where(
                    Installation.org_id == to.org_id,
                    Installation.provider == Provider.TEAMS.value,
                    Installation.external_id == to.workspace,
                )
            )
        if not service_url or not bot_id:
            raise DeliveryError(
                "VizDots is not in a team of this organisation: add it to the team first",
                retryable=False,
            )
        return service_url, bot_id


def _channel_error(error: TeamsDeliveryError) -> DeliveryError:
    hint: dict[int, str] = {
        403: " (VizDots is not in the channel's team: add it to the team)",
        404: " (the channel no longer exists: choose another report channel)",
    }
    return DeliveryError(f"{error}{hint.get(error.status, '')}", retryable=error.retryable)
