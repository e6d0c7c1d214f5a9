"""The local dev chat as a channel: the messages table is its transport.

The web chat (/dev) and the terminal chat read a member's messages from the database,
so sending only needs to name the message; every member is reachable but one marked
email-only (members.email_only: no chat account), whose check-ins go by email.
"""

from __future__ import annotations

import uuid

from core.domain import Provider
from core.ports import MemberAddress, OutgoingMessage, SentMessage


class DevChannel:
    provider = Provider.DEV

    async def can_reach(self, to: MemberAddress) -> bool:
        return not to.email_only

    async def away(self, to: MemberAddress) -> str | None:
        return None

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        return SentMessage(message_id=f"dev-{uuid.uuid4().hex[:12]}")

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        """Nothing to do: the dev chat renders answered questions from the stored turns."""
