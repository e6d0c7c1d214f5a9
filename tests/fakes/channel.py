"""An in-memory chat channel that records what core sends through it."""

from __future__ import annotations

import asyncio
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
    #: When set, each send waits for this event first (a send in flight when a worker dies).
    gate: asyncio.Event | None = None
    #: Set when a send is waiting at the gate.
    at_gate: asyncio.Event = field(default_factory=asyncio.Event)
    #: The gate is met after the message arrived (the sender dies before hearing back).
    gate_after_arrival: bool = False
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def can_reach(self, to: MemberAddress) -> bool:
        return self.reachable and not to.email_only  # a member with no chat account

    async def away(self, to: MemberAddress) -> str | None:
        return self.away_reason

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        if not self.gate_after_arrival:
            await self._at_gate()
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((to, message))
        if self.gate_after_arrival:
            await self._at_gate()
        return SentMessage(message_id=f"m{next(self._ids)}")

    async def _at_gate(self) -> None:
        if self.gate is not None:
            self.at_gate.set()
            await self.gate.wait()

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        self.updated.append((message_id, message))

    def texts_to(self, member_id: int) -> list[str]:
        return [m.text for to, m in self.sent if to.member_id == member_id]


@dataclass
class LookupChannel(FakeChannel):
    """A FakeChannel that can tell whether a message with an outbox key arrived (as Slack
    can through message metadata)."""

    look_ups: int = 0

    async def find_sent(self, to: MemberAddress, key: str) -> SentMessage | None:
        self.look_ups += 1
        for n, (_to, message) in enumerate(self.sent):
            if message.key == key:
                return SentMessage(message_id=f"found{n}")
        return None
