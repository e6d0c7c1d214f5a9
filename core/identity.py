"""Who is this? Resolve a channel's sender to the organisation and member it names, and
enrol a newcomer the workspace's directory vouches for."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider, Role
from core.inbound import Actor, Sender
from core.members import enrol_member, known_zone
from core.ports import Clock, MemberDirectory, MemberProfile
from core.store.models import AuditEntry, Installation, Member, Organization

log = logging.getLogger("vizdots.identity")

_MEMBER_KEY = {
    Provider.SLACK: Member.slack_user_id,
    Provider.TEAMS: Member.teams_aad_object_id,
    Provider.DEV: Member.email,
}
#: A newcomer whose profile has no zone, in an org whose members have none either.
FALLBACK_ZONE = "UTC"


def email_sender(*, org_id: int, member_id: int) -> Sender:
    """How the browser check-in page (a member reached by email) names its member: by
    ids, which never change, where an email address may."""
    return Sender(Provider.EMAIL, workspace=str(org_id), user=str(member_id))


def _row_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 10 else None


async def find_org(db: AsyncSession, *, provider: Provider, workspace: str) -> Organization | None:
    """The org behind a Slack team id / Teams tenant id (active installation), a dev slug,
    or an org id (the browser page: see `email_sender`)."""
    if provider is Provider.DEV:
        return await db.scalar(select(Organization).where(Organization.slug == workspace))
    if provider is Provider.EMAIL:
        org_id = _row_id(workspace)
        return await db.get(Organization, org_id) if org_id is not None else None
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
    member = await _member_in(db, org, sender) if org is not None else None
    return (org, member) if org is not None and member is not None else None


async def _member_in(db: AsyncSession, org: Organization, sender: Sender) -> Member | None:
    if sender.provider is Provider.EMAIL:
        member_id = _row_id(sender.user)
        member = await db.get(Member, member_id) if member_id is not None else None
        return member if member is not None and member.org_id == org.id else None
    if sender.provider not in _MEMBER_KEY:
        return None
    return await db.scalar(
        select(Member).where(Member.org_id == org.id, _MEMBER_KEY[sender.provider] == sender.user)
    )


async def find_or_enrol(
    *,
    sessions: async_sessionmaker[AsyncSession],
    sender: Sender,
    directory: MemberDirectory | None,
    clock: Clock,
) -> tuple[Organization, Member] | None:
    """The sender's org and member, like `find_member`; a sender unknown in a known
    workspace is looked up in `directory` and enrolled on the spot, by the rules of a
    members sync. None when the workspace is unknown, there is no directory, or the
    directory refuses the person (a bot, a guest, a deactivated account).

    The directory is asked outside any transaction. Two callers enrolling the same person
    at once both get the one row: the loser of the unique-key race reads the winner's.
    Raises DirectoryError when the directory cannot be read (retry later, or say so).
    """
    async with sessions() as db:
        org = await find_org(db, provider=sender.provider, workspace=sender.workspace)
        member = await _member_in(db, org, sender) if org is not None else None
    if org is not None and member is not None:
        return org, member
    if org is None or directory is None or sender.provider not in _MEMBER_KEY:
        return None
    profile = await directory.member(sender.workspace, sender.user)
    if profile is None or profile.external_id != sender.user:
        return None
    return await _enrol(sessions, sender=sender, org_id=org.id, profile=profile, clock=clock)


async def _enrol(
    sessions: async_sessionmaker[AsyncSession],
    *,
    sender: Sender,
    org_id: int,
    profile: MemberProfile,
    clock: Clock,
) -> tuple[Organization, Member] | None:
    try:
        async with sessions.begin() as db:
            member = await enrol_member(
                db,
                org_id=org_id,
                provider=sender.provider,
                profile=profile,
                default_timezone=await _usual_zone(db, org_id),
            )
            db.add(_enrolment_entry(member, sender, clock))
    except IntegrityError:
        log.info("member %s of org %s was enrolled by another caller", sender.user, org_id)
    async with sessions() as db:
        return await find_member(db, sender)


async def _usual_zone(db: AsyncSession, org_id: int) -> str:
    """The zone most of the org's active members share: a newcomer's likeliest."""
    zone = await db.scalar(
        select(Member.timezone)
        .where(Member.org_id == org_id, Member.active.is_(True))
        .group_by(Member.timezone)
        .order_by(func.count().desc(), Member.timezone)
        .limit(1)
    )
    return known_zone(zone) or FALLBACK_ZONE


def _enrolment_entry(member: Member, sender: Sender, clock: Clock) -> AuditEntry:
    detail = {"provider": sender.provider.value, "at": clock.now().isoformat()}
    return AuditEntry(
        org_id=member.org_id, actor_member_id=member.id, action="members.enrol", detail=detail
    )


def actor_of(member: Member, provider: Provider) -> Actor:
    return Actor(
        org_id=member.org_id,
        member_id=member.id,
        is_admin=Role(member.role).is_admin,
        provider=provider,
    )
