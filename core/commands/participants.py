"""Turning a schedule's mentions into members: people by their chat id, channels by roster."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from core.commands.context import CommandContext
from core.commands.types import Participants
from core.i18n import _
from core.members import external_id_attribute
from core.store.models import Member


@dataclass(frozen=True, slots=True)
class ResolvedParticipants:
    member_ids: frozenset[int] = frozenset()
    #: Mentions that name nobody, in words for the reply; non-empty means change nothing.
    problems: tuple[str, ...] = field(default=())


async def resolve_participants(
    ctx: CommandContext, participants: Participants
) -> ResolvedParticipants:
    known = await _members_by_external_id(ctx, participants.users)
    problems = [
        _("@{user} is not a member here", user=user)
        for user in participants.users
        if _comparable(ctx, user) not in known
    ]
    member_ids = set(known.values())
    for channel in participants.channels:
        found, problem = await _channel_members(ctx, channel)
        member_ids |= found
        problems += [problem] if problem else []
    return ResolvedParticipants(member_ids=frozenset(member_ids), problems=tuple(problems))


async def _channel_members(ctx: CommandContext, channel: str) -> tuple[set[int], str | None]:
    if ctx.directory is None:
        return set(), _(
            "I can't see who is in #{channel} from here; mention people instead", channel=channel
        )
    external_ids = await ctx.directory.channel_members(ctx.request.sender.workspace, channel)
    found = set((await _members_by_external_id(ctx, external_ids)).values())
    return found, None if found else _("#{channel} has no members I know", channel=channel)


def _is_email(ctx: CommandContext) -> bool:
    return external_id_attribute(ctx.provider) == "email"


def _comparable(ctx: CommandContext, external_id: str) -> str:
    """Emails (the dev chat's ids) compare in any case; chat ids exactly."""
    return external_id.lower() if _is_email(ctx) else external_id


async def _members_by_external_id(ctx: CommandContext, ids: Iterable[str]) -> dict[str, int]:
    """Active members of the org by the sender's channel id for them (in comparable form)."""
    wanted = sorted({_comparable(ctx, external_id) for external_id in ids})
    if not wanted:
        return {}
    column = getattr(Member, external_id_attribute(ctx.provider))
    key = func.lower(column) if _is_email(ctx) else column
    rows = await ctx.db.execute(
        select(key, Member.id).where(
            Member.org_id == ctx.org.id, Member.active.is_(True), key.in_(wanted)
        )
    )
    return {str(external): member_id for external, member_id in rows}
