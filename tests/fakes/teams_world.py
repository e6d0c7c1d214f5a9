"""Activities as Teams (or the Bot Framework Emulator) posts them to /api/messages, and
`teams_world`: the app served with Teams configured against a fake connector."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from bot.worker import plan
from core.store.models import CheckinSession, Member
from tests.fakes.bot_connector import FakeConnector, roster_entry
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, serving
from tests.fakes.world import first_session, outbox_settled

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TEAM = "19:team-general@thread.tacv2"
BOT = "28:vizdots-bot"
# A Thursday; 09:30 UTC is when the scenario's daily check-in is due.
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
OLIVE = ("aad-olive", "Olive Owner", "olive@t.io")
BEN = ("aad-ben", "Ben Berlin", "ben@t.io")


@dataclass
class Activities:
    """Builds and posts activities; `token` signs them (None: anonymous, the emulator)."""

    base_url: str
    service_url: str
    token: str | None = None
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def activity(self, kind: str, person: tuple[str, str, str] | None, *,
                 conversation: dict[str, Any], **fields: Any) -> dict[str, Any]:  # fmt: skip
        body: dict[str, Any] = {
            "type": kind,
            "id": f"act-{next(self._ids)}",
            "timestamp": NOW.isoformat(),
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "conversation": {"tenantId": TENANT, **conversation},
            "recipient": {"id": BOT, "name": "VizDots"},
            "channelData": {"tenant": {"id": TENANT}},
            **fields,
        }
        if person is not None:
            aad, name, _email = person
            body["from"] = {"id": f"29:{aad}", "name": name, "aadObjectId": aad}
        return body

    def personal(
        self, person: tuple[str, str, str], text: str = "", **fields: Any
    ) -> dict[str, Any]:
        chat = {"id": f"a:chat-29:{person[0]}", "conversationType": "personal"}
        return self.activity("message", person, conversation=chat, text=text, **fields)

    def press(self, person: tuple[str, str, str], action: dict[str, Any]) -> dict[str, Any]:
        """An Action.Submit pressed: a message with `value` = the action's data, no text."""
        return self.personal(person, "", value=action["data"])

    def team_install(self, installer: tuple[str, str, str]) -> dict[str, Any]:
        team = {"id": TEAM, "conversationType": "channel", "isGroup": True}
        body = self.activity("conversationUpdate", installer, conversation=team,
                             membersAdded=[{"id": BOT}])  # fmt: skip
        body["channelData"]["team"] = {"id": TEAM, "name": "General"}
        return body

    def personal_install(self, person: tuple[str, str, str], action: str = "add") -> dict[str, Any]:
        chat = {"id": f"a:chat-29:{person[0]}", "conversationType": "personal"}
        return self.activity("installationUpdate", person, conversation=chat, action=action)

    async def post(self, body: dict[str, Any] | bytes, *, token: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        sent = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        if isinstance(body, bytes):
            sent.setdefault("Content-Type", "application/json")
            return await self.client.post(f"{self.base_url}/api/messages", content=body,
                                          headers=sent)  # fmt: skip
        return await self.client.post(f"{self.base_url}/api/messages", json=body, headers=sent)


@dataclass
class TeamsWorld:
    services: Services
    connector: FakeConnector
    activities: Activities

    async def count(self, model: Any, *where: Any) -> int:
        async with self.services.sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def member(self, aad: str) -> Member:
        async with self.services.sessions() as db:
            found = await db.scalar(select(Member).where(Member.teams_aad_object_id == aad))
        assert found is not None
        return found

    async def session_of(self, aad: str) -> CheckinSession:
        return await first_session(self.services.sessions, Member.teams_aad_object_id == aad)

    async def settled(self) -> None:
        """Wait until no outbox message is being sent (the app's sender loop runs too)."""
        await outbox_settled(self.services.sessions)

    async def plan_and_deliver(self) -> None:
        """Plan and deliver; done when the openings are sent."""
        await plan(self.services, now=NOW - timedelta(hours=1))
        await self.services.delivery.deliver_due(now=NOW)
        await self.settled()

    def chat(self, person: tuple[str, str, str]) -> str:
        return self.connector.chat_of(f"29:{person[0]}")

    async def said_to(self, person: tuple[str, str, str], count: int) -> list[str]:
        """Wait until `count` messages reached the person's chat; their texts."""
        chat = self.chat(person)
        await eventually(lambda: _at_least(len(self.connector.sent_to(chat)), count))
        return [s.text for s in self.connector.sent_to(chat)]

    async def installed(self, *people: tuple[str, str, str]) -> None:
        """The bot added to the team by the first of `people`; the roster taken in."""
        self.connector.rosters[TEAM] = [roster_entry(*p) for p in people]
        response = await self.activities.post(self.activities.team_install(people[0]))
        assert response.status_code == 200
        await eventually(lambda: self._members_are(len(people)))
        # The installer's greeting arrived: a test counting what they are told next (a
        # command's reply) counts from here, never taking the greeting for the reply.
        await self.said_to(people[0], 1)

    async def _members_are(self, count: int) -> bool:
        return await self.count(Member) == count


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted


@asynccontextmanager
async def teams_world(
    db_url: str, *, workers: bool | None = None, **settings: Any
) -> AsyncIterator[TeamsWorld]:
    """The app in emulator mode (anonymous activities, no connector token) by default;
    `settings` override (an app id turns JWT validation on). `workers`: take turns and
    send the outbox in the app (default: unless an app id is set, as then connector
    tokens come from Entra ID: tests.fakes.entra stands in for it)."""
    connector = FakeConnector()
    async with serving(connector.app()) as connector_url:
        connector.base_url = connector_url + "/"
        # The fake clock jumps minutes or hours at once while a real send may be in flight:
        # no claim may look abandoned because of a jump (a real clock moves while it waits).
        defaults = {"teams_emulator": True, "claim_timeout_seconds": 86_400.0}
        config = load_settings(database_url=db_url, **(defaults | settings))
        in_process = "microsoft_app_id" not in settings if workers is None else workers
        services = build_services(
            config, clock=FakeClock(NOW), loop_interval=None, inbox_in_process=in_process
        )
        async with serving(create_app(services)) as url:
            world = TeamsWorld(services, connector, Activities(url, connector.base_url))
            yield world
            await world.activities.client.aclose()
