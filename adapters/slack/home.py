"""App Home: a member's recent check-ins and dots, next check-in and settings."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.slack.blocks import home_view
from adapters.slack.clients import SlackClients
from core.home import member_home
from core.i18n import _
from core.identity import find_member
from core.inbound import Sender
from core.ports import Clock, MemberAddress

log = logging.getLogger("vizdots.slack")


def not_set_up() -> dict[str, object]:
    """The App Home of someone VizDots doesn't know (in the default language)."""
    text = _("*VizDots* isn't set up for you yet. Ask an admin to run `/vizdots members sync`.")
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


class HomePublisher:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, clients: SlackClients
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.clients = clients

    async def publish(self, client: AsyncWebClient, sender: Sender) -> None:
        async with self.sessions() as db:
            found = await find_member(db, sender)
            if found is None:
                view = not_set_up()
            else:
                home = await member_home(db, member_id=found[1].id, now=self.clock.now())
                view = home_view(home)
        await client.views_publish(user_id=sender.user, view=view)

    async def completed(self, *, session_id: int, member: MemberAddress) -> None:
        """A finished check-in shows on the member's App Home at once."""
        client = await self.clients.for_org(member.org_id)
        if client is None or member.slack_user_id is None:
            return
        async with self.sessions() as db:
            home = await member_home(db, member_id=member.member_id, now=self.clock.now())
        try:
            await client.views_publish(user_id=member.slack_user_id, view=home_view(home))
        except SlackApiError as error:
            log.warning(
                "App Home of member %s not refreshed: %s",
                member.member_id,
                error.response.get("error"),
            )
