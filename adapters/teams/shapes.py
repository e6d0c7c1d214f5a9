"""Bot Framework activities as Teams sends them, read into plain values (pure).

Teams ids: a person is named by their Entra (AAD) object id, the one stable id across
chats (members.teams_aad_object_id, `Sender.user`); `29:…` is their id in the bot's
chats, `28:…` the bot's own; a tenant id names the organisation (`Sender.workspace`).

A Teams message id is unique only within its chat, so an activity's event id joins it
to its conversation (hashed to fit the inbox's column); a redelivery has the same one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from microsoft_agents.activity import Activity

from core.domain import Provider
from core.inbound import IncomingMessage, Sender

#: The key of an Adaptive Card Action.Submit's data that carries our choice value.
CHOICE_KEY = "vizdots_choice"
LABEL_KEY = "vizdots_label"
_MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
_MAX_TEXT = 4000
_MAX_ID = 255


class MalformedActivity(ValueError):
    """Not an activity Teams sends: a 400."""


@dataclass(frozen=True, slots=True)
class Person:
    aad_object_id: str
    teams_id: str
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Arrival:
    """Who an activity comes from, where, and how to write back to them."""

    tenant_id: str
    service_url: str
    conversation_id: str
    personal: bool
    person: Person | None
    bot_id: str
    bot_name: str
    timezone: str | None
    team_id: str | None
    #: The sender's client locale ("fr-FR"): the language a member gets when first seen.
    locale: str | None = None

    def reference(self, person: Person, *, conversation_id: str | None) -> dict[str, Any]:
        """The stored address of `person` (members.teams_conversation_ref): enough to
        continue their 1:1 chat, or to create it when `conversation_id` is None."""
        return {
            "serviceUrl": self.service_url,
            "tenantId": self.tenant_id,
            "conversationId": conversation_id,
            "userId": person.teams_id,
            "botId": self.bot_id,
            "botName": self.bot_name,
        }


def parse(body: Any) -> Activity:
    """The SDK's Activity model of a JSON body; MalformedActivity when it is none."""
    if not isinstance(body, dict):
        raise MalformedActivity("the body is not a JSON object")
    try:
        activity = Activity.model_validate(body)
    except ValueError as error:  # pydantic's ValidationError is one
        raise MalformedActivity("the body is not a Bot Framework activity") from error
    if not activity.type or activity.conversation is None or not activity.conversation.id:
        raise MalformedActivity("an activity needs a type and a conversation id")
    if not (activity.service_url or "").startswith(("https://", "http://")):
        raise MalformedActivity("an activity needs an http(s) serviceUrl")
    return activity


def arrival_of(activity: Activity) -> Arrival:
    tenant = tenant_of(activity)
    bot = activity.recipient
    if not tenant or bot is None or not bot.id:
        raise MalformedActivity("a Teams activity names its tenant and the bot")
    conversation = activity.conversation
    assert conversation is not None
    kind = (conversation.conversation_type or "personal").lower()
    return Arrival(
        tenant_id=_id(tenant),
        service_url=str(activity.service_url),
        conversation_id=_id(conversation.id),
        personal=kind == "personal",
        person=person_of(activity.from_property),
        bot_id=_id(bot.id),
        bot_name=(bot.name or "VizDots")[:100],
        timezone=timezone_of(activity),
        team_id=_team_of(activity),
        locale=locale_of(activity),
    )


def person_of(account: Any) -> Person | None:
    """A human member of the chat (bots have no Entra object id)."""
    if account is None:
        return None
    aad = getattr(account, "aad_object_id", None)
    teams_id = getattr(account, "id", None)
    if not aad or not teams_id or str(teams_id).startswith("28:"):
        return None
    extra = getattr(account, "model_extra", None) or {}
    email = extra.get("email") or extra.get("userPrincipalName")
    return Person(
        aad_object_id=_id(str(aad))[:64],
        teams_id=_id(str(teams_id)),
        name=(getattr(account, "name", None) or str(aad))[:200],
        email=str(email)[:320] if email and "@" in str(email) else None,
    )


def tenant_of(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant")
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    conversation = activity.conversation
    return conversation.tenant_id if conversation else None


def _team_of(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team")
    return _id(str(team["id"])) if isinstance(team, dict) and team.get("id") else None


def locale_of(activity: Activity) -> str | None:
    """The sender's locale: the activity's own, else the clientInfo entity's."""
    if activity.locale:
        return str(activity.locale)[:32]
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == "clientInfo":
            locale = (entity.model_extra or {}).get("locale")
            return str(locale)[:32] if locale else None
    return None


def timezone_of(activity: Activity) -> str | None:
    """The IANA zone of the sender's client (the clientInfo entity), if it says."""
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == "clientInfo":
            zone = (entity.model_extra or {}).get("timezone")
            return str(zone)[:64] if zone else None
    return None


def event_id_of(activity: Activity) -> str:
    conversation = activity.conversation.id if activity.conversation else ""
    if not activity.id:
        raise MalformedActivity("a message activity has an id")
    digest = hashlib.sha256(f"{conversation}\x1f{activity.id}".encode()).hexdigest()[:48]
    return f"teams:{digest}"


def message_of(activity: Activity, arrival: Arrival) -> IncomingMessage | None:
    """A member's typed line or card button press, as the inbox stores it; None for
    anything else (the bot's own, an empty message, a group chat)."""
    person = arrival.person
    if person is None or not arrival.personal:
        return None
    sender = Sender(Provider.TEAMS, arrival.tenant_id, person.aad_object_id)
    message_id = _id(activity.id or "") or None
    value = activity.value if isinstance(activity.value, dict) else None
    if value is not None and isinstance(value.get(CHOICE_KEY), str):
        label = str(value.get(LABEL_KEY) or value[CHOICE_KEY])[:200]
        return IncomingMessage(sender, label, event_id_of(activity), message_id,
                               choice=value[CHOICE_KEY][:200])  # fmt: skip
    text = addressed_text(activity)
    if not text.strip():
        return None
    return IncomingMessage(sender, text[:_MAX_TEXT], event_id_of(activity), message_id)


def addressed_text(activity: Activity) -> str:
    """The typed words; a line that @mentions the bot reads as a command (/vizdots …)."""
    text = activity.text or ""
    bot = activity.recipient.id if activity.recipient else None
    mentioned = any(
        getattr(entity, "type", None) == "mention" and _mentioned_id(entity) == bot
        for entity in activity.entities or []
    )
    if not mentioned:
        return text
    return "/vizdots " + _MENTION.sub("", text).strip()


def _mentioned_id(entity: Any) -> str | None:
    mentioned = getattr(entity, "mentioned", None) or (entity.model_extra or {}).get("mentioned")
    if isinstance(mentioned, dict):
        return mentioned.get("id")
    return getattr(mentioned, "id", None)


def _id(value: str) -> str:
    if "\x00" in value or len(value) > _MAX_ID:
        raise MalformedActivity("an id is not one Teams gives")
    return value
