"""Slack as a Channel: check-ins as DMs from the workspace's bot.

A send costs at most three Web API calls: users.info (Tier 4) to honour an
out-of-office status, conversations.open (Tier 3) only while the member's DM channel
id is unknown — it is returned in `SentMessage.learned` for delivery to store — and
chat.postMessage. A message id is "<channel>:<ts>": chat.update needs both.

Logs name the method, Slack's error code and the member id: never a token, nor
message or status text (members' personal data).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import fallback_text, message_blocks
from adapters.slack.clients import SlackClients
from adapters.slack.status import away_reason
from core.domain import Provider
from core.ports import (
    Clock,
    DeliveryError,
    MemberAddress,
    OutgoingMessage,
    SentMessage,
    SystemClock,
)
from core.schedule_time import expires_at

log = logging.getLogger("vizdots.slack")

#: Error codes worth another try later (once the SDK's own retries gave up).
#: Any other code is permanent (user_not_found, channel_not_found, invalid_auth…).
RETRYABLE = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"}
    | {"request_timeout"}
)
#: The metadata event type of every DM VizDots posts; its payload carries the outbox key.
OUTBOX_EVENT = "vizdots_outbox"
#: How many of the latest DM messages a look-up reads (Slack's cap for most apps).
LOOK_UP_DEPTH = 15
#: What a few permanent errors mean, for the session's outcome note.
HINTS = {
    "invalid_auth": "the workspace's bot token is invalid: reinstall VizDots",
    "token_revoked": "VizDots was removed from the workspace",
    "account_inactive": "the member's Slack account is deactivated",
    "user_not_found": "the member is no longer in the Slack workspace",
    "missing_scope": "VizDots lacks a Slack permission: reinstall it",
    "messages_tab_disabled": "the app's Messages tab is off (app manifest)",
}


class SlackDeliveryError(DeliveryError):
    """A DeliveryError that keeps Slack's error code."""

    def __init__(self, reason: str, *, code: str, retryable: bool) -> None:
        super().__init__(reason, retryable=retryable)
        self.code = code


class SlackChannel:
    provider = Provider.SLACK

    def __init__(
        self, *, clients: SlackClients, check_status: bool = True, clock: Clock | None = None
    ) -> None:
        """`check_status`: skip members whose Slack status says they are away today."""
        self._clients = clients
        self._check_status = check_status
        self._clock = clock or SystemClock()

    async def can_reach(self, to: MemberAddress) -> bool:
        if not to.slack_user_id:
            return False
        return await self._clients.for_org(to.org_id) is not None

    async def away(self, to: MemberAddress) -> str | None:
        """Asked once per check-in, before the opening; replies are never held back."""
        if not self._check_status:
            return None
        client, user = await self._client(to)
        return await self._away_reason(client, to, user)

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        client, user = await self._client(to)
        channel, learned = await self._dm_channel(client, to, user)
        metadata = {"event_type": OUTBOX_EVENT, "event_payload": {"key": message.key}}
        with _translated("chat.postMessage", to):
            posted = await client.chat_postMessage(
                channel=channel,
                text=fallback_text(message),
                blocks=message_blocks(message),
                metadata=metadata if message.key else None,
            )
        return SentMessage(message_id=f"{posted['channel']}:{posted['ts']}", learned=learned)

    async def find_sent(self, to: MemberAddress, key: str) -> SentMessage | None:
        """The DM tagged with outbox `key` among the latest in the member's DM, if any.

        One conversations.history call (im:history; Tier 3, or one a minute for apps
        outside the Marketplace): only after a crash left a send's outcome unknown."""
        client, user = await self._client(to)
        channel, learned = await self._dm_channel(client, to, user)
        with _translated("conversations.history", to):
            history = await client.conversations_history(
                channel=channel, include_all_metadata=True, limit=LOOK_UP_DEPTH
            )
        for posted in history.get("messages") or []:
            metadata = posted.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == OUTBOX_EVENT and payload.get("key") == key:
                return SentMessage(message_id=f"{channel}:{posted['ts']}", learned=learned)
        return None

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        client, _ = await self._client(to)
        channel, _, ts = message_id.partition(":")
        if not channel or not ts:
            raise DeliveryError(f"not a Slack message id: {message_id!r}", retryable=False)
        with _translated("chat.update", to):
            await client.chat_update(
                channel=channel, ts=ts, text=fallback_text(message), blocks=message_blocks(message)
            )

    async def _client(self, to: MemberAddress) -> tuple[AsyncWebClient, str]:
        if not to.slack_user_id:
            raise DeliveryError("the member has no Slack user id", retryable=False)
        client = await self._clients.for_org(to.org_id)
        if client is None:
            raise DeliveryError("VizDots is not installed in the Slack workspace", retryable=False)
        return client, to.slack_user_id

    async def _away_reason(
        self, client: AsyncWebClient, to: MemberAddress, user: str
    ) -> str | None:
        """The status's away reason. Best effort: a failed look-up never blocks a check-in."""
        try:
            with _translated("users.info", to):
                info: dict[str, Any] = (await client.users_info(user=user)).get("user") or {}
        except SlackDeliveryError as error:
            if error.retryable or error.code == "missing_scope":
                return None  # chat.postMessage will tell whether Slack is really down
            raise
        if info.get("deleted"):
            raise DeliveryError(HINTS["account_inactive"], retryable=False)
        profile = info.get("profile") or {}
        reason = away_reason(
            status_text=str(profile.get("status_text") or ""),
            status_emoji=str(profile.get("status_emoji") or ""),
            status_expiration=int(profile.get("status_expiration") or 0),
            end_of_today=end_of_local_day(info.get("tz"), now=self._clock.now()),
        )
        if reason is not None:
            log.info("slack member %s is away today", to.member_id)
        return reason

    async def _dm_channel(
        self, client: AsyncWebClient, to: MemberAddress, user: str
    ) -> tuple[str, dict[str, str]]:
        """The DM channel id: the stored one, else opened once (and learned)."""
        if to.slack_dm_channel_id:
            return to.slack_dm_channel_id, {}
        with _translated("conversations.open", to):
            opened = await client.conversations_open(users=user)
        channel = str(opened["channel"]["id"])
        return channel, {"slack_dm_channel_id": channel}


def end_of_local_day(timezone: str | None, *, now: datetime) -> datetime:
    """When the day of `now` ends in the member's Slack time zone (UTC if unknown)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return expires_at(local_date=now.astimezone(zone).date(), zone=zone, grace=timedelta(0))


@contextmanager
def _translated(method: str, to: MemberAddress) -> Iterator[None]:
    """Slack and network failures as SlackDeliveryError, logged without personal data."""
    try:
        yield
    except SlackApiError as error:
        raise _api_error(method, to, error) from error
    except (TimeoutError, aiohttp.ClientError) as error:
        log.warning("slack %s failed for member %s: %s", method, to.member_id, type(error).__name__)
        reason = f"Slack {method}: could not reach Slack ({type(error).__name__})"
        raise SlackDeliveryError(reason, code="connection", retryable=True) from error
    except SlackClientError as error:
        log.warning("slack %s failed for member %s: %s", method, to.member_id, type(error).__name__)
        reason = f"Slack {method}: {type(error).__name__}"
        raise SlackDeliveryError(reason, code="client", retryable=False) from error


def _api_error(method: str, to: MemberAddress, error: SlackApiError) -> SlackDeliveryError:
    status = int(error.response.status_code)
    data = error.response.data
    code = str(data.get("error") or "unknown") if isinstance(data, dict) else f"http_{status}"
    retryable = code in RETRYABLE or status == 429 or status >= 500
    log.warning("slack %s failed for member %s: %s (HTTP %d)", method, to.member_id, code, status)
    hint = HINTS.get(code)
    reason = f"Slack {method}: {code}" + (f" ({hint})" if hint else "")
    return SlackDeliveryError(reason, code=code, retryable=retryable)
