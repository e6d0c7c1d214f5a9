"""The chat channels a deployment has, in the order a member is tried."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from core.domain import Provider
from core.ports import Channel, MemberAddress


class ChannelSet:
    """Slack first, then Teams, then the local dev chat — whichever are configured."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = tuple(channels)

    async def for_member(self, to: MemberAddress) -> Channel | None:
        for channel in self._channels:
            if await channel.can_reach(to):
                return channel
        return None

    def get(self, provider: Provider) -> Channel | None:
        return next((c for c in self._channels if c.provider is provider), None)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels)
