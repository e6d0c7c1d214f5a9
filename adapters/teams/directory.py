"""`members sync` in Teams: the rosters of the teams the bot was added to (teams_teams,
recorded at each team install), read page by page from the connector.

A team's roster is not the tenant's directory — people who only installed the app
personally are in no team — so the listing is never complete: a sync adds and updates
but deactivates nobody (`complete_listing` is False). Teams channels cannot be listed
(mention people instead), and one unknown person is not looked up: everyone who writes
to the bot is enrolled from the activity itself (adapters.teams.install).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.teams.connector import Connector, TeamsDeliveryError, translated
from adapters.teams.shapes import Person, person_of
from core.i18n import _
from core.ports import DirectoryError, MemberProfile
from core.store.models import TeamsTeam

ROSTER_PAGE = 100


class TeamsDirectory:
    complete_listing = False

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], connector: Connector) -> None:
        self._sessions = sessions
        self._connector = connector

    async def list_members(self, org_external_id: str) -> list[MemberProfile]:
        async with self._sessions() as db:
            teams = list(await db.scalars(
                select(TeamsTeam).where(TeamsTeam.tenant_id == org_external_id,
                                        TeamsTeam.active.is_(True)).order_by(TeamsTeam.id)
            ))  # fmt: skip
        if not teams:
            raise DirectoryError(
                "VizDots is in no team of yours yet: add it to a team, then sync again"
            )
        people: dict[str, Person] = {}
        for team in teams:
            for person in await roster(self._connector, team.service_url, team.team_id):
                people.setdefault(person.aad_object_id, person)
        return [profile_of(p) for p in people.values()]

    async def channel_members(self, org_external_id: str, channel_id: str) -> list[str]:
        raise DirectoryError(_("Teams channels can't be listed; mention the people instead"))

    async def member(self, org_external_id: str, external_id: str) -> MemberProfile | None:
        return None  # who writes to the bot is enrolled from the activity itself


async def roster(connector: Connector, service_url: str, team_id: str) -> list[Person]:
    """Every page of a team's members (people only: bots have no Entra object id)."""
    people: list[Person] = []
    try:
        async with connector.client(service_url) as client:
            token: str | None = None
            while True:
                with translated("roster", member_id=None):
                    page = await client.conversations.get_conversation_paged_members(
                        team_id, page_size=ROSTER_PAGE, continuation_token=token
                    )
                people += [p for p in map(person_of, page.members or []) if p is not None]
                token = page.continuation_token
                if not token:
                    return people
    except TeamsDeliveryError as error:
        raise DirectoryError(f"Teams would not list a team's members ({error})") from None


def profile_of(person: Person) -> MemberProfile:
    return MemberProfile(external_id=person.aad_object_id, display_name=person.name,
                         email=person.email, timezone=None)  # fmt: skip
