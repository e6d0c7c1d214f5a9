"""An in-memory chat workspace directory: its people and who is in each channel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core.ports import DirectoryError, MemberProfile


@dataclass
class FakeDirectory:
    people: dict[str, list[MemberProfile]] = field(default_factory=dict)
    channels: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    failure: DirectoryError | None = None
    complete_listing: bool = True
    reads: int = 0
    lookups: list[str] = field(default_factory=list)
    #: Every `member` lookup waits here first (to line concurrent callers up).
    barrier: asyncio.Barrier | None = None

    def add_person(self, workspace: str, profile: MemberProfile) -> None:
        self.people.setdefault(workspace, []).append(profile)

    def add_channel(self, workspace: str, channel_id: str, user_ids: list[str]) -> None:
        self.channels[(workspace, channel_id)] = list(user_ids)

    async def list_members(self, org_external_id: str) -> list[MemberProfile]:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return list(self.people.get(org_external_id, []))

    async def channel_members(self, org_external_id: str, channel_id: str) -> list[str]:
        return list(self.channels.get((org_external_id, channel_id), []))

    async def member(self, org_external_id: str, external_id: str) -> MemberProfile | None:
        """The person, when the workspace lists them (it lists only who may take part)."""
        self.lookups.append(external_id)
        if self.barrier is not None:
            await self.barrier.wait()
        if self.failure is not None:
            raise self.failure
        people = self.people.get(org_external_id, [])
        return next((p for p in people if p.external_id == external_id), None)
