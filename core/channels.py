"""The chat channels a deployment has, in the order a member is tried."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from core.domain import Provider
from core.ports import Channel, MemberAddress


class ChannelSet:
    """Slack first, then Teams, then the local dev chat — whichever are configured — and
    last the browser check-in page (Provider.EMAIL) for members no chat reaches; a member
    reachable in more than one chat is sent to the one they chose, else the first."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = tuple(channels)

    async def for_member(self, to: MemberAddress) -> Channel | None:
        """The chat that reaches the member: their chosen one when it can, else the first
        in the deployment's order that can."""
        for channel in self._in_order_for(to):
            if await channel.can_reach(to):
                return channel
        return None

    async def chat_for(self, to: MemberAddress) -> Channel | None:
        """A chat that reaches the member. The browser page does not count: a member
        reaches it only through an emailed link, so they are on the email path."""
        for channel in self._in_order_for(to):
            if channel.provider is not Provider.EMAIL and await channel.can_reach(to):
                return channel
        return None

    def _in_order_for(self, to: MemberAddress) -> list[Channel]:
        chosen = [c for c in self._channels if c.provider is to.preferred_chat]
        return chosen + [c for c in self._channels if c.provider is not to.preferred_chat]

    def get(self, provider: Provider) -> Channel | None:
        return next((c for c in self._channels if c.provider is provider), None)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels)
