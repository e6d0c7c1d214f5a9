"""The browser check-in page as a channel: the messages table is its transport.

The page (adapters/web/checkin.py) shows the stored turns of the session its link names,
so sending only needs to name the message. It reaches only members no chat reaches:
no chat account, or a chat that said they cannot be reached (a Teams member who blocked
the bot). ChannelSet keeps it last and `ChannelSet.chat_for` ignores it, so delivery
still leaves such a member's check-in on the email path; it is what the outbox routes
the replies to turns taken on the page through.
"""

from __future__ import annotations

import uuid

from core.domain import Provider
from core.ports import MemberAddress, OutgoingMessage, SentMessage


class WebChannel:
    provider = Provider.EMAIL

    async def can_reach(self, to: MemberAddress) -> bool:
        if to.email is None or to.slack_user_id is not None:
            return False
        return to.teams_conversation_ref is None or to.teams_unreachable

    async def away(self, to: MemberAddress) -> str | None:
        return None

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        return SentMessage(message_id=f"web-{uuid.uuid4().hex[:12]}")

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        """Nothing to do: the page renders answered questions from the stored turns."""
