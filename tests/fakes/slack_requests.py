"""Requests as Slack sends them to /slack/events: signed with the signing secret; and
`slack_world`, the app served with Slack configured, to send them to."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from bot.worker import plan
from core.store.models import CheckinSession, Member
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, serving
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.world import first_session, outbox_settled

SECRET = "test-signing-secret"
# 08:00 UTC is 09:00 in Berlin (Ben's check-in time) and 03:00 in New York (Olive's).
NOW = datetime(2026, 11, 26, 8, tzinfo=UTC)


@dataclass(frozen=True)
class Prepared:
    body: bytes
    headers: dict[str, str]


@dataclass
class SlackRequests:
    base_url: str
    signing_secret: str
    team_id: str
    response_url: str
    dm_channel_of: Callable[[str], str]
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def signed(
        self, body: str | bytes, content_type: str, *, age: int = 0,
        signature: str | None = None, retry_num: int | None = None,
    ) -> Prepared:  # fmt: skip
        """A request as Slack would send it now (sent as often as wanted: a replay)."""
        timestamp = str(int(time.time()) - age)
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + timestamp.encode() + b":" + raw
        signed = "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature if signature is not None else signed,
        }
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "timeout"}
        return Prepared(raw, headers)

    async def send(self, prepared: Prepared) -> httpx.Response:
        return await self.client.post(
            f"{self.base_url}/slack/events", content=prepared.body, headers=prepared.headers
        )

    async def post(self, body: str | bytes, content_type: str, **options: Any) -> httpx.Response:
        return await self.send(self.signed(body, content_type, **options))

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, **options: Any
    ) -> httpx.Response:
        body = {
            "type": "event_callback",
            "team_id": self.team_id,
            "api_app_id": "A0TEST",
            "event": event,
            "event_id": event_id or f"Ev{next(self._ids):06d}",
            "event_time": int(time.time()),
        }
        return await self.post(json.dumps(body), "application/json", **options)

    async def dm(self, user: str, text: str, *, ts: str, **options: Any) -> httpx.Response:
        channel = self.dm_channel_of(user)
        event = {"type": "message", "channel_type": "im", "channel": channel, "user": user,
                 "text": text, "ts": ts}  # fmt: skip
        return await self.event(event, **options)

    def command_form(
        self, user: str, text: str, *, trigger_id: str | None = None,
        channel: tuple[str, str] = ("C0GENERAL", "general"),
    ) -> str:  # fmt: skip
        """The form of a slash command typed in `channel` (id, name; a DM is named
        "directmessage")."""
        form = {
            "token": "unused", "team_id": self.team_id, "team_domain": "test",
            "channel_id": channel[0], "channel_name": channel[1], "user_id": user,
            "user_name": user.lower(), "command": "/vizdots", "text": text,
            "response_url": self.response_url,
            "trigger_id": trigger_id or f"{next(self._ids)}.{int(time.time())}.trigger",
        }  # fmt: skip
        return urlencode(form)

    async def command(
        self, user: str, text: str, *, trigger_id: str | None = None,
        channel: tuple[str, str] = ("C0GENERAL", "general"), **options: Any,
    ) -> httpx.Response:  # fmt: skip
        form = self.command_form(user, text, trigger_id=trigger_id, channel=channel)
        return await self.post(form, "application/x-www-form-urlencoded", **options)

    def press_form(self, user: str, button: dict[str, Any], *, message_ts: str) -> str:
        """A button in a DM message pressed (block_actions)."""
        container = {"type": "message", "message_ts": message_ts,
                     "channel_id": self.dm_channel_of(user)}  # fmt: skip
        action = {"type": "button", "block_id": "vizdots_choices", **button}
        return self.action_form(user, action, container, channel=self.dm_channel_of(user))

    def action_form(
        self, user: str, action: dict[str, Any], container: dict[str, Any],
        channel: str | None = None,
    ) -> str:  # fmt: skip
        """A block_actions request for `action` (its action_ts added) in `container`."""
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "test"},
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": "A0TEST",
            "container": container,
            **({"channel": {"id": channel}} if channel else {}),
            "response_url": self.response_url,
            "trigger_id": f"{next(self._ids)}.{int(time.time())}.trigger",
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        return urlencode({"payload": json.dumps(payload)})

    async def press(self, user: str, button: dict[str, Any], *, message_ts: str) -> httpx.Response:
        form = self.press_form(user, button, message_ts=message_ts)
        return await self.post(form, "application/x-www-form-urlencoded")


@dataclass
class SlackWorld:
    """The app served on a real port (Slack with a single-workspace token against the
    fake Web API), the fake, and a signer of requests."""

    services: Services
    slack: FakeSlackApi
    requests: SlackRequests

    async def count(self, model: Any, *where: Any) -> int:
        async with self.services.sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def session_of(self, user: str) -> CheckinSession:
        return await first_session(self.services.sessions, Member.slack_user_id == user)

    async def plan_and_deliver(self) -> None:
        """Plan and deliver; done when the openings are sent."""
        await plan(self.services, now=NOW - timedelta(hours=1))
        await self.services.delivery.deliver_due(now=NOW)
        await outbox_settled(self.services.sessions)

    async def send_what_the_outbox_holds(self) -> None:
        """Let the outbox's back-offs run out and send what waits (as the worker loop does)."""
        clock = self.services.clock
        assert isinstance(clock, FakeClock)
        for _ in range(12):
            clock.advance(timedelta(minutes=10))
            await self.services.outbox.send_due()
        clock.current = NOW

    def replies_to_commands(self) -> list[str]:
        return [c.params.get("text", "") for c in self.slack.calls_to("response_url.hook")]

    def buttons_of(self, message_index: int = 0, channel: str = "D2") -> list[dict[str, Any]]:
        blocks = self.slack.messages_in(channel)[message_index].blocks
        return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def add_people(slack: FakeSlackApi) -> None:
    """Olive (an owner) and Ben are synced; a deleted user and a guest are not."""
    if any(user["id"] == "U1" for user in slack.users):
        return  # a second app on the same workspace
    slack.add_user("U1", "Olive Owner", "olive@t.io", "America/New_York", is_owner=True)
    slack.add_user("U2", "Ben Berlin", "ben@t.io", "Europe/Berlin")
    slack.add_user("U3", "Gone Person", "gone@t.io", deleted=True)
    slack.add_user("U4", "Guest Person", "guest@t.io", restricted=True)


@asynccontextmanager
async def slack_world(
    db_url: str, slack: FakeSlackApi, *, api_url: str | None = None, members: int = 2,
    **settings: Any,
) -> AsyncIterator[SlackWorld]:  # fmt: skip
    """`api_url`: where the app finds Slack's Web API (default: the fake); `members`:
    how many synced members to wait for before yielding."""
    add_people(slack)
    config = load_settings(
        database_url=db_url,
        slack_signing_secret=SECRET,
        slack_bot_token=TEST_TOKEN,
        slack_api_url=api_url or slack.base_url,
        **settings,
    )
    services = build_services(config, clock=FakeClock(NOW), loop_interval=None)
    async with serving(create_app(services)) as url:
        hook = f"{slack.base_url}response_url.hook"
        requests = SlackRequests(url, SECRET, slack.team_id, hook, slack.dm_channel_of)
        world = SlackWorld(services, slack, requests)
        await eventually(lambda: _synced(world, members))
        yield world
        await requests.client.aclose()


async def _synced(world: SlackWorld, members: int) -> bool:
    return await world.count(Member) == members
