"""POST /api/messages: Teams activities in, translated into core calls.

Each refusal is one log line with its reason, never the body: 413 above the size cap
(a declared Content-Length checked before reading, streamed bytes counted), 401 when
the SDK's JWT validation refuses the token (or its serviceUrl claim differs from the
activity's), 400 for a body that is no Bot Framework activity. Nothing is changed by a
refused request.

Acknowledged means stored: a member's message or card press is committed to the inbox
(its event id from the activity id, so a redelivery is stored once) before the 200;
workers take the turn (TypedChat tells a typed command from an answer). Knowing the
sender (enrolment, conversation reference, timezone) is one read, and a write only when
something changed. A team install's roster is read from the connector after the
acknowledgement (tracked, so that shutdown waits for it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from microsoft_agents.activity import Activity

from adapters.background import Background
from adapters.teams.auth import Unauthorized, authenticate, check_service_url
from adapters.teams.config import TeamsSettings
from adapters.teams.install import TeamsInstaller
from adapters.teams.shapes import MalformedActivity, arrival_of, message_of, parse
from core.inbox import Inbox

log = logging.getLogger("vizdots.teams")


class TooLarge(Exception):
    pass


@dataclass
class TeamsApp:
    settings: TeamsSettings
    inbox: Inbox
    installer: TeamsInstaller
    background: Background = field(default_factory=lambda: Background(log))

    def __post_init__(self) -> None:
        self._auth = self.settings.auth_configuration()

    async def messages(self, request: Request) -> Response:
        try:
            body = await capped_body(request, self.settings.max_request_bytes)
            claims = await authenticate(request.headers.get("authorization"), self._auth)
            activity = parse(_json(body))
            check_service_url(claims, str(activity.service_url))
        except TooLarge:
            return _refused(413, "request body too large")
        except Unauthorized as error:
            return _refused(401, str(error))
        except MalformedActivity as error:
            return _refused(400, str(error))
        try:
            await self.on_activity(activity)
        except MalformedActivity as error:
            return _refused(400, str(error))
        return Response(status_code=200)

    async def on_activity(self, activity: Activity) -> None:
        kind = activity.type
        if kind == "message":
            await self._on_message(activity)
        elif kind == "installationUpdate":
            await self._on_installation(activity)
        elif kind == "conversationUpdate":
            await self._on_conversation_update(activity)
        else:
            log.debug("teams %s activity ignored", kind)

    async def _on_message(self, activity: Activity) -> None:
        arrival = arrival_of(activity)
        message = message_of(activity, arrival)
        if message is None:
            log.info("teams message ignored: not a member's words in a personal chat")
            return
        await self.installer.meet(arrival)
        await self.inbox.accept(message)

    async def _on_installation(self, activity: Activity) -> None:
        arrival = arrival_of(activity)
        action = (activity.action or "add").lower()
        if action.startswith("remove"):
            await self.installer.remove(arrival)
        elif arrival.personal:
            await self.installer.meet(arrival)
        else:
            self.background.start(self.installer.install_team(arrival), what="team install")

    async def _on_conversation_update(self, activity: Activity) -> None:
        """Teams also tells a team install (the bot among the members added) here."""
        arrival = arrival_of(activity)
        bot = arrival.bot_id
        if any(m.id == bot for m in activity.members_removed or []) and not arrival.personal:
            await self.installer.remove(arrival)
        elif any(m.id == bot for m in activity.members_added or []):
            if arrival.personal:
                await self.installer.meet(arrival)
            else:
                self.background.start(self.installer.install_team(arrival), what="team install")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedActivity("the body is not JSON") from None


def _refused(status: int, reason: str) -> Response:
    log.info("teams request refused (%d): %s", status, reason)
    return Response(json.dumps({"error": reason}), status_code=status,
                    media_type="application/json")  # fmt: skip


async def capped_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
