"""An in-memory chat channel that records what core sends through it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from core.domain import Provider
from core.ports import MemberAddress, OutgoingMessage, SentMessage


@dataclass
class FakeChannel:
    provider: Provider = Provider.DEV
    reachable: bool = True
    away_reason: str | None = None
    sent: list[tuple[MemberAddress, OutgoingMessage]] = field(default_factory=list)
    updated: list[tuple[str, OutgoingMessage]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def can_reach(self, to: MemberAddress) -> bool:
        return self.reachable

    async def away(self, to: MemberAddress) -> str | None:
        return self.away_reason

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((to, message))
        return SentMessage(message_id=f"m{next(self._ids)}")

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        self.updated.append((message_id, message))

    def texts_to(self, member_id: int) -> list[str]:
        return [m.text for to, m in self.sent if to.member_id == member_id]
