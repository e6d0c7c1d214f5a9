"""Installing into a Slack workspace: org, owner, members, then a welcome DM."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.slack.channel import SlackChannel
from adapters.slack.directory import SlackDirectory
from core.domain import Provider
from core.install import (
    TRIAL,
    InstallResult,
    Workspace,
    deactivate_installation,
    finish_install,
    register_installation,
)
from core.members import sync_members
from core.ports import Clock, DeliveryError, OutgoingMessage
from core.records import address_of
from core.store.models import Installation, Member

log = logging.getLogger("vizdots.slack")

WELCOME = (
    "👋 VizDots is installed! Your team's trial runs until {trial}.\n"
    "Next steps:\n"
    "• `/vizdots schedule set daily mon-fri 09:30` — start daily check-ins for everyone\n"
    "• `/vizdots members` — see who takes part (and who the admins are)\n"
    "• `/vizdots help` — everything else\n"
    "Each person answers in this DM, at 09:30 in their own time zone."
)


class SlackInstaller:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        directory: SlackDirectory,
        channel: SlackChannel,
        clock: Clock,
        default_timezone: str,
        trial: timedelta = TRIAL,
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.channel = channel
        self.clock = clock
        self.default_timezone = default_timezone
        self.trial = trial

    async def install(
        self, *, team_id: str, team_name: str, bot_user_id: str | None, installer: str | None,
        credentials_ref: str,
    ) -> InstallResult:  # fmt: skip
        """Create or refresh the org behind `team_id`; welcome a new installer by DM."""
        workspace = Workspace(
            provider=Provider.SLACK,
            external_id=team_id,
            name=team_name or team_id,
            bot_user_id=bot_user_id,
            credentials_ref=credentials_ref,
            installer=installer,
        )
        async with self.sessions.begin() as db:  # first, so the directory has a token
            registration = await register_installation(
                db, workspace=workspace, now=self.clock.now(), trial=self.trial
            )
        profiles = await self.directory.list_members(team_id)
        async with self.sessions.begin() as db:
            result = await finish_install(
                db,
                registration=registration,
                workspace=workspace,
                profiles=profiles,
                default_timezone=self.default_timezone,
            )
        log.info(
            "slack workspace installed: org %s, %d members added",
            result.org_id,
            result.synced.added,
        )
        if result.new_org and result.owner_id is not None:
            await self._welcome(result)
        return result

    async def refresh(
        self, *, team_id: str, team_name: str, bot_user_id: str | None, credentials_ref: str
    ) -> None:
        """A single-workspace process starting: installed (and audited) when the workspace
        is new or its installation changed; otherwise its members are only synced."""
        org_id = await self._unchanged(team_id, bot_user_id, credentials_ref)
        if org_id is None:
            await self.install(
                team_id=team_id, team_name=team_name, bot_user_id=bot_user_id,
                installer=None, credentials_ref=credentials_ref,
            )  # fmt: skip
            return
        profiles = await self.directory.list_members(team_id)
        async with self.sessions.begin() as db:
            await sync_members(
                db, org_id=org_id, provider=Provider.SLACK, profiles=profiles,
                default_timezone=self.default_timezone,
            )  # fmt: skip

    async def _unchanged(
        self, team_id: str, bot_user_id: str | None, credentials_ref: str
    ) -> int | None:
        """The org id when the workspace is installed, active, as this bot and credentials."""
        async with self.sessions() as db:
            return await db.scalar(
                select(Installation.org_id).where(
                    Installation.provider == Provider.SLACK.value,
                    Installation.external_id == team_id,
                    Installation.active.is_(True),
                    Installation.bot_user_id == bot_user_id,
                    Installation.credentials_ref == credentials_ref,
                )
            )

    async def uninstall(self, *, team_id: str) -> bool:
        async with self.sessions.begin() as db:
            return await deactivate_installation(db, provider=Provider.SLACK, external_id=team_id)

    async def _welcome(self, result: InstallResult) -> None:
        async with self.sessions() as db:
            owner = await db.get_one(Member, result.owner_id)
        trial = result.trial_ends_at.date().isoformat() if result.trial_ends_at else "—"
        try:
            await self.channel.send(address_of(owner), OutgoingMessage(WELCOME.format(trial=trial)))
        except DeliveryError as error:
            log.warning("welcome DM to member %s not delivered: %s", owner.id, error)
