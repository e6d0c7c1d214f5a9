"""A local Bot Framework connector (the `serviceUrl` of Teams activities) for tests.

Served over real HTTP on 127.0.0.1 (tests.fakes.http_server.serving); the Agents SDK's
ConnectorClient reaches it as it reaches smba.trafficmanager.net. It records replies and
proactive sends (POST /v3/conversations/{id}/activities[/{id}]), 1:1 chats created
(POST /v3/conversations), posts in a team channel (the same with channelData.channel:
`channel_posts`), card updates (PUT …/activities/{id}) and serves a team's roster page
by page (GET /v3/conversations/{id}/pagedmembers). `fail_next` makes the next calls of
an operation answer 429 (with Retry-After), 412, 503…; `block` makes every send to a
member's chat (or post in a channel) answer 403, as when they blocked the bot. With a
`clock`, `received` tells when each call came in (the test's FakeClock time).
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Sent:
    conversation_id: str
    activity_id: str
    activity: dict[str, Any]
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(attachment["content"])
        return None

    @property
    def text(self) -> str:
        card = self.card
        if card is not None:
            return " ".join(block.get("text", "") for block in card["body"])
        return str(self.activity.get("text") or "")

    @property
    def shown(self) -> dict[str, Any]:
        """The activity as the chat shows it now (after any update)."""
        return self.edits[-1] if self.edits else self.activity


@dataclass(frozen=True)
class Received:
    """A call the connector answered: what, to which conversation (None: a new chat),
    the failure status it answered (200: the call went through), and when."""

    operation: str
    conversation_id: str | None
    status: int
    at: datetime | None


@dataclass
class FakeConnector:
    base_url: str = ""
    sent: list[Sent] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, int, str | None]] = field(default_factory=list)
    rosters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 1
    blocked: set[str] = field(default_factory=set)
    #: Proactive posts in team channels (POST /v3/conversations with channelData.channel).
    channel_posts: list[Sent] = field(default_factory=list)
    hooks: list[Callable[[Sent], Awaitable[None] | None]] = field(default_factory=list)
    #: What time it is when a call comes in (a FakeClock's `now`); None: not noted.
    clock: Callable[[], datetime] | None = None
    received: list[Received] = field(default_factory=list)
    _failures: dict[str, deque[tuple[int, str | None]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(
        self, operation: str, status: int, times: int = 1, *, retry_after: str | None = None
    ) -> None:
        """The next `times` calls of `operation` (send, create, update, roster) fail, with
        a Retry-After header of `retry_after` (seconds or an HTTP date; a 429's default: 1)."""
        header = retry_after if retry_after is not None or status != 429 else "1"
        self._failures[operation].extend([(status, header)] * times)

    def received_by(self, conversation_id: str) -> list[Received]:
        return [r for r in self.received if r.conversation_id == conversation_id]

    def on_send(self, hook: Callable[[Sent], Awaitable[None] | None]) -> None:
        """Call (and await) `hook` with each message the connector took, before it
        answers 201."""
        self.hooks.append(hook)

    def block(self, conversation_id: str) -> None:
        self.blocked.add(conversation_id)

    def sent_to(self, conversation_id: str) -> list[Sent]:
        return [s for s in self.sent if s.conversation_id == conversation_id]

    def chat_of(self, teams_user_id: str) -> str:
        return f"a:chat-{teams_user_id}"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v3/conversations")
        async def create(request: Request) -> JSONResponse:
            body = await request.json()
            if failed := self._failed("create", request):
                return failed
            channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
            if channel is not None:
                return self._post_in_channel(channel, body)
            self.created.append(body)
            chat = self.chat_of(body["members"][0]["id"])
            return JSONResponse({"id": chat, "serviceUrl": self.base_url}, status_code=201)

        @app.post("/v3/conversations/{conversation_id}/activities")
        async def send(conversation_id: str, request: Request) -> JSONResponse:
            return await self._send(conversation_id, request)

        @app.post("/v3/conversations/{conversation_id}/activities/{reply_to}")
        async def reply(conversation_id: str, reply_to: str, request: Request) -> JSONResponse:
            return await self._send(conversation_id, request)

        @app.put("/v3/conversations/{conversation_id}/activities/{activity_id}")
        async def update(conversation_id: str, activity_id: str, request: Request) -> JSONResponse:
            body = await request.json()
            if failed := self._failed("update", request):
                return failed
            found = [s for s in self.sent_to(conversation_id) if s.activity_id == activity_id]
            if not found:
                return JSONResponse({"error": {"code": "NotFound"}}, status_code=404)
            found[0].edits.append(body)
            return JSONResponse({"id": activity_id})

        @app.get("/v3/conversations/{conversation_id}/pagedmembers")
        async def roster(conversation_id: str, request: Request) -> JSONResponse:
            if failed := self._failed("roster", request):
                return failed
            people = self.rosters.get(conversation_id, [])
            start = int(request.query_params.get("continuationToken") or 0)
            end = start + self.page_size
            page: dict[str, Any] = {"members": people[start:end]}
            if end < len(people):
                page["continuationToken"] = str(end)
            return JSONResponse(page)

        return app

    def _post_in_channel(self, channel: str, body: dict[str, Any]) -> JSONResponse:
        """A proactive post in a team channel: a new thread, its activity recorded."""
        if channel in self.blocked:
            return JSONResponse({"error": {"code": "BotNotInConversationRoster"}}, status_code=403)
        activity_id = f"1:{next(self._ids)}"
        thread = f"{channel};messageid={activity_id}"
        self.channel_posts.append(Sent(channel, activity_id, dict(body.get("activity") or {})))
        return JSONResponse({"id": thread, "activityId": activity_id}, status_code=201)

    async def _send(self, conversation_id: str, request: Request) -> JSONResponse:
        body = await request.json()
        if conversation_id in self.blocked:
            self.calls.append(("send", 403, request.headers.get("authorization")))
            self._note("send", request, 403)
            return JSONResponse({"error": {"code": "BotDisabledByAdmin"}}, status_code=403)
        if failed := self._failed("send", request):
            return failed
        activity_id = f"1:{next(self._ids)}"
        self.sent.append(Sent(conversation_id, activity_id, body))
        for hook in self.hooks:
            if (waiting := hook(self.sent[-1])) is not None:
                await waiting
        return JSONResponse({"id": activity_id}, status_code=201)

    def _failed(self, operation: str, request: Request) -> JSONResponse | None:
        failures = self._failures[operation]
        status, retry_after = failures.popleft() if failures else (200, None)
        self.calls.append((operation, status, request.headers.get("authorization")))
        self._note(operation, request, status)
        if status == 200:
            return None
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return JSONResponse({"error": {"code": "Throttled"}}, status_code=status, headers=headers)

    def _note(self, operation: str, request: Request, status: int) -> None:
        at = self.clock() if self.clock is not None else None
        conversation = request.path_params.get("conversation_id")
        self.received.append(Received(operation, conversation, status, at))


def roster_entry(aad: str, name: str, email: str) -> dict[str, Any]:
    """A team member as GET pagedmembers lists them (TeamsChannelAccount)."""
    return {"id": f"29:{aad}", "name": name, "aadObjectId": aad, "email": email,
            "userPrincipalName": email, "userRole": "user"}  # fmt: skip
