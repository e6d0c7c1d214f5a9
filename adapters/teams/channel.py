"""Teams as a Channel: check-ins in the member's 1:1 chat with the bot, sent
proactively from the stored conversation reference (members.teams_conversation_ref).

A member known from a team roster has a reference without a conversation yet: the
first send creates the 1:1 chat (POST /v3/conversations: the member, the bot, the
tenant) and returns the completed reference in `SentMessage.learned` for the outbox to
store, so the chat is created once. Questions with buttons are Adaptive Cards; after a
press `update` replaces the card (PUT …/activities/{id}) with one showing the choice
and no buttons. Sends are paced (adapters.teams.pacing); failures are translated in
adapters.teams.connector. Teams offers no look-up of what the bot posted, so a send
whose outcome a crash left unknown is posted once more (the outbox's duplicate window).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from microsoft_agents.activity import Activity, ConversationParameters
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.teams.cards import message_activity
from adapters.teams.connector import Connector, TeamsDeliveryError, translated
from adapters.teams.pacing import Pacer
from core.domain import Provider
from core.ports import (
    Clock,
    DeliveryError,
    MemberAddress,
    OutgoingMessage,
    SentMessage,
    SystemClock,
)
from core.store.models import Installation

log = logging.getLogger("vizdots.teams")


class TeamsChannel:
    provider = Provider.TEAMS

    def __init__(
        self,
        *,
        connector: Connector,
        sessions: async_sessionmaker[AsyncSession],
        pacer: Pacer | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`clock`: the time a call is made, to read a Retry-After given as a date."""
        self._connector = connector
        self._sessions = sessions
        self._pacer = pacer or Pacer()
        self._clock = clock or SystemClock()

    async def can_reach(self, to: MemberAddress) -> bool:
        reference = to.teams_conversation_ref
        if to.teams_unreachable or not reference or not reference.get("serviceUrl"):
            return False
        async with self._sessions() as db:
            installed = await db.scalar(
                select(Installation.id).where(
                    Installation.org_id == to.org_id,
                    Installation.provider == Provider.TEAMS.value,
                    Installation.external_id == reference.get("tenantId"),
                    Installation.active.is_(True),
                )
            )
        return installed is not None

    async def away(self, to: MemberAddress) -> str | None:
        return None  # Teams presence needs Graph permissions VizDots does not ask for

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        reference = _reference(to)
        learned: dict[str, Any] = {}
        async with self._connector.client(reference["serviceUrl"]) as client:
            if not reference.get("conversationId"):
                reference = await self._open_chat(client, to, reference)
                learned["teams_conversation_ref"] = reference
            await self._pacer.wait_turn(
                tenant=reference["tenantId"], conversation=reference["conversationId"]
            )
            activity = Activity.model_validate(message_activity(message))
            try:
                with translated("send", member_id=to.member_id, now=self._clock.now()):
                    posted = await client.conversations.send_to_conversation(
                        reference["conversationId"], activity
                    )
            except DeliveryError as error:  # the chat created stays known: created once
                error.learned = {**learned, **error.learned}
                raise
        if not posted.id:
            raise DeliveryError("Teams accepted the message without an id", retryable=False)
        return SentMessage(message_id=posted.id, learned=learned)

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        reference = _reference(to)
        if not reference.get("conversationId"):
            raise DeliveryError("the member has no Teams chat to update", retryable=False)
        activity = Activity.model_validate(message_activity(message, as_card=True))
        async with self._connector.client(reference["serviceUrl"]) as client:
            await self._pacer.wait_turn(
                tenant=reference["tenantId"], conversation=reference["conversationId"]
            )
            try:
                with translated("update", member_id=to.member_id, now=self._clock.now()):
                    await client.conversations.update_activity(
                        reference["conversationId"], message_id, activity
                    )
            except TeamsDeliveryError as error:  # a message gone is not a member gone
                raise DeliveryError(
                    str(error), retryable=error.retryable, retry_after=error.retry_after
                ) from None

    async def _open_chat(
        self, client: Any, to: MemberAddress, reference: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Create the member's 1:1 chat with the bot; the completed reference."""
        parameters = ConversationParameters.model_validate(
            {
                "isGroup": False,
                "bot": {"id": reference["botId"], "name": reference.get("botName") or "VizDots"},
                "members": [{"id": reference["userId"]}],
                "tenantId": reference["tenantId"],
                "channelData": {"tenant": {"id": reference["tenantId"]}},
            }
        )
        with translated("create conversation", member_id=to.member_id, now=self._clock.now()):
            created = await client.conversations.create_conversation(parameters)
        if not created.id:
            raise DeliveryError("Teams created a chat without an id", retryable=True)
        log.info("teams chat opened for member %s", to.member_id)
        return {**reference, "conversationId": created.id}


def _reference(to: MemberAddress) -> dict[str, Any]:
    reference = dict(to.teams_conversation_ref or {})
    needed = ("serviceUrl", "tenantId", "userId", "botId")
    if to.teams_unreachable or any(not reference.get(key) for key in needed):
        raise DeliveryError("the member has no usable Teams address", retryable=False)
    return reference
