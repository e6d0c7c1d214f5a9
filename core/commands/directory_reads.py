"""A command's reads from the chat directory, done before its transaction opens.

Paging through Slack's users.list can take seconds; holding a database transaction
open meanwhile would block writers (and on SQLite make the final write fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.commands import types as c
from core.ports import DirectoryError, MemberDirectory, MemberProfile


@dataclass
class DirectoryReads:
    """A MemberDirectory answering from what was read beforehand."""

    members: list[MemberProfile] = field(default_factory=list)
    channels: dict[str, list[str]] = field(default_factory=dict)
    failure: DirectoryError | None = None
    complete_listing: bool = True

    async def list_members(self, org_external_id: str) -> list[MemberProfile]:
        if self.failure is not None:
            raise self.failure
        return self.members

    async def channel_members(self, org_external_id: str, channel_id: str) -> list[str]:
        if self.failure is not None:
            raise self.failure
        return self.channels.get(channel_id, [])

    async def member(self, org_external_id: str, external_id: str) -> MemberProfile | None:
        if self.failure is not None:
            raise self.failure
        return next((m for m in self.members if m.external_id == external_id), None)


async def read_ahead(
    command: c.Command, *, directory: MemberDirectory | None, workspace: str
) -> MemberDirectory | None:
    """What `command` will ask of the directory, read now; None without a directory."""
    if directory is None:
        return None
    reads = DirectoryReads(complete_listing=directory.complete_listing)
    try:
        if isinstance(command, c.MembersSync):
            reads.members = await directory.list_members(workspace)
        if isinstance(command, c.ScheduleSet):
            for channel in command.participants.channels:
                reads.channels[channel] = await directory.channel_members(workspace, channel)
    except DirectoryError as error:
        reads.failure = error
    return reads
