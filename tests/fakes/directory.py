"""An in-memory chat workspace directory: its people and who is in each channel."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.ports import DirectoryError, MemberProfile


@dataclass
class FakeDirectory:
    people: dict[str, list[MemberProfile]] = field(default_factory=dict)
    channels: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    failure: DirectoryError | None = None
    reads: int = 0

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
