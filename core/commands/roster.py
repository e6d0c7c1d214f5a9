"""`members` and `members sync`: who takes part in an organisation's check-ins."""

from __future__ import annotations

from sqlalchemy import select

from core.commands import types as c
from core.commands.context import CommandContext
from core.domain import Role
from core.i18n import _
from core.members import sync_members
from core.ports import DirectoryError
from core.store.models import Member

_ADMIN_ROLES = {role.value for role in Role if role.is_admin}
#: Names listed in full before "and N more".
_NAMES_SHOWN = 30


def _names(names: list[str]) -> str:
    more = len(names) - _NAMES_SHOWN
    return ", ".join(names[:_NAMES_SHOWN]) + (
        _(" and {count} more", count=more) if more > 0 else ""
    )


async def list_members(ctx: CommandContext, command: c.MembersList) -> str:
    members = list(
        await ctx.db.scalars(
            select(Member)
            .where(Member.org_id == ctx.org.id, Member.active.is_(True))
            .order_by(Member.display_name)
        )
    )
    if not members:
        return _("No active members yet. Run `members sync` to bring them in.")
    today = ctx.today()
    admins = [m.display_name for m in members if m.role in _ADMIN_ROLES]
    away = [
        _("{name} (until {day})", name=m.display_name, day=m.vacation_until.isoformat())
        for m in members
        if m.vacation_until is not None and m.vacation_until >= today
    ]
    everyone = _names([m.display_name for m in members])
    return "\n".join(
        [
            _("{count} active members: {names}", count=len(members), names=everyone),
            _("Admins: {names}", names=_names(admins) or _("none")),
            _("On vacation: {names}", names=_names(away)) if away else _("Nobody is on vacation."),
        ]
    )


async def sync_from_directory(ctx: CommandContext, command: c.MembersSync) -> str:
    if ctx.directory is None:
        return _("Members sync is not available from this chat.")
    try:
        profiles = await ctx.directory.list_members(ctx.request.sender.workspace)
    except DirectoryError as error:
        return _(
            "I couldn't read your workspace's member list: {error}. Nothing changed.", error=error
        )
    if not profiles:
        return _("Your workspace directory listed nobody, so nothing changed.")
    result = await sync_members(
        ctx.db,
        org_id=ctx.org.id,
        provider=ctx.provider,
        profiles=profiles,
        # A new member without a zone most likely shares the admin's.
        default_timezone=ctx.member.timezone,
        complete=ctx.directory.complete_listing,
    )
    ctx.audit(
        "members.sync",
        added=result.added,
        updated=result.updated,
        deactivated=result.deactivated,
    )
    return _(
        "Members synced: {added} added, {updated} updated, {deactivated} deactivated.",
        added=result.added, updated=result.updated, deactivated=result.deactivated,
    )  # fmt: skip
