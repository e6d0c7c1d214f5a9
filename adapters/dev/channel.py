"""The local dev chat as a channel: the database is its transport.

The web chat (/dev) and the terminal chat read a member's check-in turns from the
messages table and whatever else was sent to them (nudges, notices) from the outbox
(adapters.dev.sent), so sending only names the message — by its place after the
member's latest stored turn. Alone, it reaches every member but one marked email-only
(members.email_only: no chat account), whose check-ins go by email. Beside Slack or
Teams (`beside_chats`) it reaches only members of organisations no chat was ever
installed in (`vizdots demo`'s team): a chat's members are never sent to a page they
cannot see, and whom their chat cannot reach are left for email as before.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider
from core.ports import MemberAddress, OutgoingMessage, SentMessage
from core.store.models import Installation

from .sent import last_message_id, placed_id


class DevChannel:
    provider = Provider.DEV

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], beside_chats: bool = False
    ) -> None:
        self._sessions = sessions
        self._beside_chats = beside_chats

    async def can_reach(self, to: MemberAddress) -> bool:
        if to.email_only:
            return False
        if not self._beside_chats:
            return True
        async with self._sessions() as db:
            chat = await db.scalar(select(Installation.id).where(Installation.org_id == to.org_id))
        return chat is None

    async def away(self, to: MemberAddress) -> str | None:
        return None

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        """Name the message by its place; the outbox row it comes from keeps the name."""
        async with self._sessions() as db:
            after = await last_message_id(db, to.member_id)
        return SentMessage(message_id=placed_id(after))

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        """Nothing to do: the dev chat renders answered questions from the stored turns."""
