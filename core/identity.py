"""Who is this? Resolve a channel's sender to the organisation and member it names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import Provider, Role
from core.inbound import Actor, Sender
from core.store.models import Installation, Member, Organization

_MEMBER_KEY = {
    Provider.SLACK: Member.slack_user_id,
    Provider.TEAMS: Member.teams_aad_object_id,
    Provider.DEV: Member.email,
}


async def find_org(db: AsyncSession, *, provider: Provider, workspace: str) -> Organization | None:
    """The org behind a Slack team id / Teams tenant id (active installation), or a dev slug."""
    if provider is Provider.DEV:
        return await db.scalar(select(Organization).where(Organization.slug == workspace))
    return await db.scalar(
        select(Organization)
        .join(Installation, Installation.org_id == Organization.id)
        .where(
            Installation.provider == provider.value,
            Installation.external_id == workspace,
            Installation.active.is_(True),
        )
    )


async def find_member(db: AsyncSession, sender: Sender) -> tuple[Organization, Member] | None:
    org = await find_org(db, provider=sender.provider, workspace=sender.workspace)
    if org is None or sender.provider not in _MEMBER_KEY:
        return None
    member = await db.scalar(
        select(Member).where(Member.org_id == org.id, _MEMBER_KEY[sender.provider] == sender.user)
    )
    return (org, member) if member is not None else None


def actor_of(member: Member, provider: Provider) -> Actor:
    return Actor(
        org_id=member.org_id,
        member_id=member.id,
        is_admin=Role(member.role).is_admin,
        provider=provider,
    )
