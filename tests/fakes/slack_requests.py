"""Requests as Slack sends them to /slack/events: signed with the signing secret."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier


@dataclass
class SlackRequests:
    base_url: str
    signing_secret: str
    team_id: str
    response_url: str
    dm_channel_of: Callable[[str], str]
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post(
        self, body: str, content_type: str, *, age: int = 0, signature: str | None = None,
        retry_num: int | None = None,
    ) -> httpx.Response:  # fmt: skip
        timestamp = str(int(time.time()) - age)
        signed = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=timestamp, body=body
        )
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature if signature is not None else signed,
        }
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "timeout"}
        return await self.client.post(
            f"{self.base_url}/slack/events", content=body, headers=headers
        )

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

    async def command(self, user: str, text: str, **options: Any) -> httpx.Response:
        form = {
            "token": "unused", "team_id": self.team_id, "team_domain": "test",
            "channel_id": "C0GENERAL", "channel_name": "general", "user_id": user,
            "user_name": user.lower(), "command": "/vizdots", "text": text,
            "response_url": self.response_url, "trigger_id": "1.2.3",
        }  # fmt: skip
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **options)

    async def press(self, user: str, button: dict[str, Any], *, message_ts: str) -> httpx.Response:
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "test"},
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": "A0TEST",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": self.dm_channel_of(user),
            },
            "channel": {"id": self.dm_channel_of(user)},
            "response_url": self.response_url,
            "actions": [
                {
                    "type": "button",
                    "block_id": "vizdots_choices",
                    "action_id": button["action_id"],
                    "value": button["value"],
                    "text": button["text"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        form = urlencode({"payload": json.dumps(payload)})
        return await self.post(form, "application/x-www-form-urlencoded")
