"""What every command handler receives, and the small queries several of them share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import Provider, Role
from core.i18n import _
from core.inbound import CommandRequest
from core.members import zone_or_default
from core.ports import Clock, DashboardLinks, MemberDirectory
from core.store.models import Agent, AuditEntry, Member, Organization


@dataclass(frozen=True, slots=True)
class CommandContext:
    """One command being carried out: its open transaction, who asks, and the ports."""

    db: AsyncSession
    org: Organization
    member: Member
    request: CommandRequest
    directory: MemberDirectory | None
    clock: Clock
    #: `billing`: the link fetched from the billing provider before the transaction, or
    #: why there is none.
    billing_url: str | None = None
    billing_problem: str | None = None
    #: `dashboard`: signs the links; None where the app serves no dashboard.
    dashboard_links: DashboardLinks | None = None

    @property
    def provider(self) -> Provider:
        return self.request.sender.provider

    @property
    def is_admin(self) -> bool:
        return Role(self.member.role).is_admin

    def today(self) -> date:
        """The asking member's local date."""
        return self.clock.now().astimezone(zone_or_default(self.member.timezone)).date()

    def audit(self, action: str, **detail: object) -> None:
        """Record a change (the detail must be JSON: strings, numbers, lists)."""
        self.db.add(
            AuditEntry(
                org_id=self.org.id, actor_member_id=self.member.id, action=action, detail=detail
            )
        )

    async def agents(self) -> dict[str, Agent]:
        """The agents this org can use by slug: global ones, overridden by the org's own."""
        rows = await self.db.scalars(
            select(Agent)
            .where(or_(Agent.org_id.is_(None), Agent.org_id == self.org.id))
            .order_by(Agent.slug)
        )
        found: dict[str, Agent] = {}
        for agent in rows:
            if agent.slug not in found or agent.org_id is not None:
                found[agent.slug] = agent
        return found


def no_such_agent(slug: str, available: dict[str, Agent]) -> str:
    names = ", ".join(sorted(available)) or _("none yet")
    return _("There is no agent called '{slug}'. The agents are: {names}.", slug=slug, names=names)
