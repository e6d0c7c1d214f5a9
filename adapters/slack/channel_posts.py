"""Slack as a ChannelPoster: team digests posted to a channel with the org's bot token.

chat.postMessage to the channel id, Block Kit from core's markup (adapters.slack.blocks),
the digest's key in the message metadata (event type `vizdots_digest`). After a crash,
`find_posted` reads the channel's latest messages (conversations.history with
include_all_metadata; channels:history / groups:history) for that key. Without that
scope, or any other failure of the look-up, it says "unknown" (None) and the digest is
posted again: that one message is the duplicate window.

The bot must be in the channel: not_in_channel, channel_not_found and is_archived are
permanent failures whose reason tells an admin what to do. Logs name the method, the
error code and the org id, never a token or the digest's text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import fallback_text, message_blocks
from adapters.slack.channel import HINTS, LOOK_UP_DEPTH, RETRYABLE
from adapters.slack.clients import SlackClients
from core.domain import Provider
from core.ports import ChatPlace, DeliveryError, OutgoingMessage, SentMessage

log = logging.getLogger("vizdots.slack")

DIGEST_EVENT = "vizdots_digest"
CHANNEL_HINTS = {
    "not_in_channel": "VizDots is not in the channel: invite it (/invite @VizDots)",
    "channel_not_found": "the channel does not exist or VizDots cannot see it: invite VizDots",
    "is_archived": "the channel is archived",
    **HINTS,
}


class SlackChannelPoster:
    provider = Provider.SLACK

    def __init__(self, *, clients: SlackClients) -> None:
        self._clients = clients

    async def post(self, to: ChatPlace, message: OutgoingMessage) -> SentMessage:
        client = await self._client(to)
        metadata = {"event_type": DIGEST_EVENT, "event_payload": {"key": message.key}}
        with _translated("chat.postMessage", to):
            posted = await client.chat_postMessage(
                channel=to.channel,
                text=fallback_text(message),
                blocks=message_blocks(message),
                metadata=metadata if message.key else None,
            )
        return SentMessage(message_id=f"{posted['channel']}:{posted['ts']}")

    async def find_posted(self, to: ChatPlace, key: str) -> SentMessage | None:
        client = await self._client(to)
        try:
            with _translated("conversations.history", to):
                history = await client.conversations_history(
                    channel=to.channel, include_all_metadata=True, limit=LOOK_UP_DEPTH
                )
        except DeliveryError:
            return None  # unknowable (no history scope, Slack down): posted again
        for posted in history.get("messages") or []:
            metadata = posted.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == DIGEST_EVENT and payload.get("key") == key:
                return SentMessage(message_id=f"{to.channel}:{posted['ts']}")
        return None

    async def _client(self, to: ChatPlace) -> AsyncWebClient:
        client = await self._clients.for_org(to.org_id)
        if client is None:
            raise DeliveryError("VizDots is not installed in the Slack workspace", retryable=False)
        return client


@contextmanager
def _translated(method: str, to: ChatPlace) -> Iterator[None]:
    """Slack and network failures as DeliveryError, logged without content."""
    try:
        yield
    except SlackApiError as error:
        status = int(error.response.status_code)
        data = error.response.data
        code = str(data.get("error") or "unknown") if isinstance(data, dict) else f"http_{status}"
        log.warning("slack %s failed for org %s: %s (HTTP %d)", method, to.org_id, code, status)
        hint = CHANNEL_HINTS.get(code)
        reason = f"Slack {method}: {code}" + (f" ({hint})" if hint else "")
        retryable = code in RETRYABLE or status == 429 or status >= 500
        raise DeliveryError(reason, retryable=retryable) from error
    except (TimeoutError, aiohttp.ClientError, SlackClientError) as error:
        log.warning("slack %s failed for org %s: %s", method, to.org_id, type(error).__name__)
        reason = f"Slack {method}: could not reach Slack ({type(error).__name__})"
        raise DeliveryError(reason, retryable=True) from error
