"""The local dev chat as a channel: the messages table is its transport.

The web chat (/dev) and the terminal chat read a member's messages from the database,
so sending only needs to name the message. Alone, it reaches every member but one marked
email-only (members.email_only: no chat account), whose check-ins go by email. Beside
Slack or Teams (`beside_chats`) it reaches only members of organisations no chat was ever
installed in (`vizdots demo`'s team): a chat's members are never sent to a page they
cannot see, and whom their chat cannot reach are left for email as before.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider
from core.ports import MemberAddress, OutgoingMessage, SentMessage
from core.store.models import Installation


class DevChannel:
    provider = Provider.DEV

    def __init__(self, *, beside_chats: async_sessionmaker[AsyncSession] | None = None) -> None:
        self._sessions = beside_chats

    async def can_reach(self, to: MemberAddress) -> bool:
        if to.email_only:
            return False
        if self._sessions is None:
            return True
        async with self._sessions() as db:
            chat = await db.scalar(select(Installation.id).where(Installation.org_id == to.org_id))
        return chat is None

    async def away(self, to: MemberAddress) -> str | None:
        return None

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        return SentMessage(message_id=f"dev-{uuid.uuid4().hex[:12]}")

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        """Nothing to do: the dev chat renders answered questions from the stored turns."""
