"""Installing into a Teams tenant, and knowing each person who writes to the bot.

The org is the tenant (Installation(provider=teams, external_id=tenant id)); its trial
starts when the first person or team installs the app. Every arrival from a person —
a personal install (including an admin's "install for users", one installationUpdate
per user), or a message — makes sure the tenant is installed and the person enrolled,
and stores their conversation reference and client timezone when they changed; the
first installer owns the org and is greeted with next steps (through the outbox, after
the acknowledgement). A team install also takes in the team's roster, page by page,
in the background; a roster is never a whole directory, so it deactivates nobody.
Removal: a person's uninstall marks them unreachable in Teams; removing the app from a
team deactivates the tenant's installation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.teams.connector import Connector
from adapters.teams.directory import profile_of, roster
from adapters.teams.shapes import Arrival, Person
from core.domain import Provider
from core.i18n import language_of
from core.install import (
    TRIAL,
    Workspace,
    deactivate_installation,
    finish_install,
    register_installation,
)
from core.members import enrol_member, known_zone, sync_members
from core.outbox import record_intent
from core.ports import Clock, MemberProfile, OutgoingMessage
from core.records import address_of
from core.store.models import Installation, Member, Organization, TeamsTeam

log = logging.getLogger("vizdots.teams")

WELCOME = (
    "👋 VizDots is installed! Your team's trial runs until {trial}.\n"
    "Next steps — type them here, no slash needed:\n"
    "- `schedule set daily mon-fri 09:30` — start daily check-ins for everyone\n"
    "- `members` — see who takes part (and who the admins are)\n"
    "- `help` — everything else\n"
    "Each person answers in their own chat with VizDots, at 09:30 in their own time zone."
)


class TeamsInstaller:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        connector: Connector,
        clock: Clock,
        default_timezone: str,
        trial: timedelta = TRIAL,
    ) -> None:
        self.sessions = sessions
        self.connector = connector
        self.clock = clock
        self.default_timezone = default_timezone
        self.trial = trial

    async def meet(self, arrival: Arrival) -> None:
        """The sender of a personal activity: tenant installed, person enrolled, their
        reference and timezone current. Writes only when something changed."""
        person = arrival.person
        if person is None or not arrival.personal:
            return
        reference = arrival.reference(person, conversation_id=arrival.conversation_id)
        if await self._current(arrival, person, reference):
            return
        async with self.sessions.begin() as db:
            org_id, new_org = await self._installed(db, arrival, installer=person)
            member = await self._enrolled(db, org_id, person, new_org=new_org)
            member.teams_conversation_ref = reference
            member.teams_unreachable = False
            if not member.timezone_chosen:  # a zone set with `timezone` stands
                member.timezone = known_zone(arrival.timezone) or member.timezone
            if member.language is None:  # first seen: the client's; a chosen one stands
                member.language = language_of(arrival.locale)
            if new_org:
                await self._welcome(db, member, arrival)

    async def install_team(self, arrival: Arrival) -> None:
        """The bot added to a team: the tenant installed, the installer owner, and the
        team's roster taken in (the caller runs this after the acknowledgement)."""
        async with self.sessions.begin() as db:
            org_id, new_org = await self._installed(db, arrival, installer=arrival.person)
            await _team_recorded(db, org_id, arrival)
            installer = None
            if arrival.person is not None:
                installer = await self._enrolled(db, org_id, arrival.person, new_org=new_org)
        if arrival.team_id is not None:
            await self.take_roster(arrival, org_id=org_id)
        if new_org and installer is not None:
            async with self.sessions.begin() as db:
                await self._welcome(db, await db.get_one(Member, installer.id), arrival)

    async def take_roster(self, arrival: Arrival, *, org_id: int) -> int:
        """Every page of the team's members: enrolled, addressable (a 1:1 chat is created
        at the first send). Returns how many people the roster listed."""
        assert arrival.team_id is not None
        people = await roster(self.connector, arrival.service_url, arrival.team_id)
        async with self.sessions.begin() as db:
            await sync_members(
                db, org_id=org_id, provider=Provider.TEAMS, profiles=_profiles(people),
                default_timezone=self.default_timezone, complete=False,
            )  # fmt: skip
            await self._address(db, org_id, people, arrival)
        log.info("teams roster taken in: org %s, %d people", org_id, len(people))
        return len(people)

    async def remove(self, arrival: Arrival) -> None:
        """The app removed: by a person (unreachable there) or from a team (the tenant)."""
        async with self.sessions.begin() as db:
            if arrival.personal and arrival.person is not None:
                await db.execute(
                    update(Member)
                    .where(
                        Member.teams_aad_object_id == arrival.person.aad_object_id,
                        Member.org_id.in_(_tenant_orgs(arrival.tenant_id)),
                    )
                    .values(teams_unreachable=True)
                )
                return
            await db.execute(
                update(TeamsTeam)
                .where(TeamsTeam.tenant_id == arrival.tenant_id,
                       TeamsTeam.team_id == (arrival.team_id or arrival.conversation_id))
                .values(active=False)
            )  # fmt: skip
            await deactivate_installation(
                db, provider=Provider.TEAMS, external_id=arrival.tenant_id
            )
        log.info("teams app removed from a team: tenant installation deactivated")

    async def _current(self, arrival: Arrival, person: Person, reference: dict[str, Any]) -> bool:
        async with self.sessions() as db:
            member = await db.scalar(
                select(Member).where(
                    Member.org_id.in_(_tenant_orgs(arrival.tenant_id, active=True)),
                    Member.teams_aad_object_id == person.aad_object_id,
                )
            )
        zone = known_zone(arrival.timezone)
        return (
            member is not None
            and member.active
            and not member.teams_unreachable
            and member.teams_conversation_ref == reference
            and (zone is None or zone == member.timezone or member.timezone_chosen)
            and (member.language is not None or language_of(arrival.locale) is None)
        )

    async def _installed(
        self, db: AsyncSession, arrival: Arrival, *, installer: Person | None
    ) -> tuple[int, bool]:
        workspace = _workspace(arrival, installer)
        registration = await register_installation(
            db, workspace=workspace, now=self.clock.now(), trial=self.trial
        )
        if registration.new_org:
            profiles = _profiles([installer] if installer else [])
            await finish_install(
                db, registration=registration, workspace=workspace, profiles=profiles,
                default_timezone=self.default_timezone, complete=False,
            )  # fmt: skip
        return registration.org_id, registration.new_org

    async def _enrolled(
        self, db: AsyncSession, org_id: int, person: Person, *, new_org: bool
    ) -> Member:
        [profile] = _profiles([person])
        return await enrol_member(
            db, org_id=org_id, provider=Provider.TEAMS, profile=profile,
            default_timezone=self.default_timezone,
        )  # fmt: skip

    async def _address(
        self, db: AsyncSession, org_id: int, people: Sequence[Person], arrival: Arrival
    ) -> None:
        """Roster members without a 1:1 chat yet get the reference that creates one."""
        by_aad = {p.aad_object_id: p for p in people}
        members = await db.scalars(
            select(Member).where(
                Member.org_id == org_id,
                Member.teams_aad_object_id.in_(list(by_aad)),
                Member.teams_conversation_ref.is_(None),
            )
        )
        for member in members:
            person = by_aad[member.teams_aad_object_id or ""]
            member.teams_conversation_ref = arrival.reference(person, conversation_id=None)

    async def _welcome(self, db: AsyncSession, member: Member, arrival: Arrival) -> None:
        """The owner's greeting, recorded in the outbox (sent by the worker)."""
        await db.flush()
        org = await db.get_one(Organization, member.org_id)
        trial = org.trial_ends_at.date().isoformat() if org.trial_ends_at else "—"
        await record_intent(
            db, key=f"welcome:teams:{arrival.tenant_id}", to=address_of(member), kind="notice",
            message=OutgoingMessage(WELCOME.format(trial=trial)), now=self.clock.now(),
        )  # fmt: skip


async def _team_recorded(db: AsyncSession, org_id: int, arrival: Arrival) -> None:
    """The team whose roster `members sync` reads (adapters.teams.directory)."""
    if arrival.team_id is None:
        return
    team = await db.scalar(
        select(TeamsTeam).where(
            TeamsTeam.tenant_id == arrival.tenant_id, TeamsTeam.team_id == arrival.team_id
        )
    )
    if team is None:
        db.add(TeamsTeam(org_id=org_id, tenant_id=arrival.tenant_id, team_id=arrival.team_id,
                         service_url=arrival.service_url[:500]))  # fmt: skip
    else:
        team.active, team.service_url = True, arrival.service_url[:500]


def _tenant_orgs(tenant_id: str, *, active: bool = False) -> Any:
    query = select(Installation.org_id).where(
        Installation.provider == Provider.TEAMS.value, Installation.external_id == tenant_id
    )
    return query.where(Installation.active.is_(True)) if active else query


def _workspace(arrival: Arrival, installer: Person | None) -> Workspace:
    return Workspace(
        provider=Provider.TEAMS,
        external_id=arrival.tenant_id,
        name=f"Teams {arrival.tenant_id[:8]}",
        bot_user_id=arrival.bot_id[:64],
        credentials_ref="env:MICROSOFT_APP_ID",
        installer=installer.aad_object_id if installer else None,
    )


def _profiles(people: Sequence[Person]) -> list[MemberProfile]:
    return [profile_of(p) for p in people]
