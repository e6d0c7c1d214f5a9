"""Slack's payload shapes, read defensively: what is a member's answer, an edit, a sender.

Every function here takes what Slack (or someone with a stolen signature) sent and
returns a core value or None; nothing raises on an unexpected shape. What is ignored is
logged in one line, never with the member's text.

Shapes (facts from Slack's docs and bolt-python's tests):
  * a DM answer: `message` in channel_type "im" with `user`, `text`, `ts`; a file sent
    with it has subtype "file_share" (and `files`), a reply also sent to the DM has
    subtype "thread_broadcast"; both are answers.
  * never answers: other subtypes (bot_message, message_deleted, channel_join, …),
    anything with bot_id, thread replies (thread_ts != ts, not broadcast), channels.
  * message_changed: the new version in `message`, the old in `previous_message`; the
    new one may lack `ts` (then the previous one's is the message's).
  * Enterprise Grid org-wide installs: `authorizations[0].team_id` is null, so Bolt's
    context has no team_id; the body's `team_id` or the event's `team` still names the
    workspace, else only `enterprise_id` does.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import select

from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender

log = logging.getLogger("vizdots.slack")

ANSWER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
#: Slack's ids are short (a trigger_id, the longest, about 45 characters); longer ones
#: are not Slack's, and two of them must fit the inbox's 128-character event id.
ID_LIMIT = 60
VALUE_LIMIT = 200
#: Added to the stored answer when it came with files, which VizDots does not read: the
#: brain (and whoever reads the answer) then knows something was sent besides the words.
ATTACHMENT_NOTE = "[attachment not read]"


class MalformedPayload(ValueError):
    """A request body that is not a Slack payload (the reason names no content)."""


# --- the request body -------------------------------------------------------------------------
def payload_of(text: str, content_type: str | None) -> dict[str, Any]:
    """The payload of a request to /slack/events (JSON events, form-encoded commands,
    interactivity as a form field `payload`), checked to be one Slack could send."""
    if "\x00" in text:  # no database column takes a NUL character
        raise MalformedPayload("body holds a NUL character")
    if content_type == "application/json" or text.startswith("{"):  # as Bolt decides
        payload = _json_object(text, "body")
        _check_event(payload)
        return _without_nul(payload, escaped="\\u0000" in text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        payload = _json_object(form["payload"], "payload field")
        _check_actions(payload)
        return _without_nul(payload, escaped="\\u0000" in form["payload"])
    if form.get("command") or form.get("ssl_check"):
        return form
    raise MalformedPayload("form body with neither a payload nor a command")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        raise MalformedPayload(f"{what} is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{what} is not a JSON object")
    if not isinstance(payload.get("type"), str) or not payload["type"]:
        raise MalformedPayload(f"{what} has no type")
    return payload


def _without_nul(payload: dict[str, Any], *, escaped: bool) -> dict[str, Any]:
    """The payload, refused when JSON's escape put a NUL character in it (looked for only
    when the escape appears: a member may type a backslash-u0000 as words)."""
    if escaped and _holds_nul(payload):
        raise MalformedPayload("payload holds a NUL character")
    return payload


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _check_event(payload: dict[str, Any]) -> None:
    if payload["type"] != "event_callback":
        return
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise MalformedPayload("event_callback without an event type")


def _check_actions(payload: dict[str, Any]) -> None:
    if payload["type"] != "block_actions":
        return
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise MalformedPayload("block_actions without actions")


# --- who and where ----------------------------------------------------------------------------
def workspace_of(body: dict[str, Any], context: Any) -> str:
    """The Slack workspace (team id) a request comes from; the enterprise id when an
    org-wide install names no workspace."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    for candidate in (context.get("team_id"), body.get("team_id"), event.get("team")):
        if is_id(candidate):
            return str(candidate)
    enterprise = context.get("enterprise_id")
    return str(enterprise) if is_id(enterprise) else ""


def user_of(body: dict[str, Any]) -> str | None:
    """The user of a command (`user_id`) or of an interaction (`user.id`)."""
    user = body.get("user")
    found = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return found if is_id(found) else None


async def teams_of_enterprise(store: AsyncInstallationStore, enterprise_id: str) -> list[str]:
    """The workspaces installed under an enterprise, as the OAuth store knows them."""
    if not isinstance(store, AsyncSQLAlchemyInstallationStore):
        return []
    table = store.installations
    async with store.engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.team_id)
            .where(table.c.client_id == store.client_id, table.c.enterprise_id == enterprise_id)
            .where(table.c.team_id.is_not(None))
            .distinct()
        )
        return [team for (team,) in rows]


# --- button presses --------------------------------------------------------------------------
def choice_of(
    body: dict[str, Any], action: dict[str, Any], *, workspace: str
) -> IncomingMessage | None:
    """A pressed check-in button as an answer (its label as text), or None (logged)."""
    user, pressed_at, value = user_of(body), action.get("action_ts"), action.get("value")
    if user is None or not is_id(pressed_at) or not isinstance(value, str):
        log.info("slack button press ignored: no user, action_ts or value")
        return None
    if len(value) > VALUE_LIMIT:
        log.info("slack button press ignored: a value longer than VizDots' buttons have")
        return None
    text = action.get("text")
    label = text.get("text") if isinstance(text, dict) else None
    return IncomingMessage(
        sender=Sender(Provider.SLACK, workspace, user),
        text=label if isinstance(label, str) else "",
        choice=value,
        event_id=f"action:{pressed_at}:{user}",
    )


# --- messages ---------------------------------------------------------------------------------
def answer_of(event: dict[str, Any], *, workspace: str, event_id: Any) -> IncomingMessage | None:
    """A member's DM as an inbound answer, or None (logged) when it is not one."""
    reason = _not_an_answer(event)
    if reason is not None:
        log.debug("slack message ignored: %s", reason)
        return None
    return IncomingMessage(
        sender=Sender(Provider.SLACK, workspace, event["user"]),
        text=_text_of(event),
        event_id=event_id if is_id(event_id) else None,
        message_id=_message_id(event.get("channel"), event.get("ts")),
    )


def _not_an_answer(event: dict[str, Any]) -> str | None:
    subtype = event.get("subtype")
    if event.get("channel_type") != "im":
        return "not in a DM"
    if not isinstance(subtype, str | None) or subtype not in ANSWER_SUBTYPES:
        return f"subtype {str(subtype)[:40]}"
    if event.get("bot_id") or event.get("bot_profile"):
        return "a bot's message"
    if not is_id(event.get("user")):
        return "no user id"
    if not is_id(event.get("channel")) or not is_id(event.get("ts")):
        return "no channel or ts id"
    thread = event.get("thread_ts")
    if thread is not None and thread != event.get("ts") and subtype != "thread_broadcast":
        return "a reply in a thread"
    return None


def _text_of(event: dict[str, Any]) -> str:
    text = event.get("text") if isinstance(event.get("text"), str) else ""
    if event.get("files") or event.get("subtype") == "file_share":
        return f"{text} {ATTACHMENT_NOTE}".strip()
    return str(text)


def _message_id(channel: Any, ts: Any) -> str | None:
    return f"{channel}:{ts}" if is_id(channel) and is_id(ts) else None


def is_id(value: Any) -> bool:
    """A Slack id or timestamp: a short non-empty string."""
    return isinstance(value, str) and 0 < len(value) <= ID_LIMIT


def edit_of(event: dict[str, Any], *, workspace: str, event_id: Any) -> EditedMessage | None:
    """A member's edit of a DM answer (message_changed), or None (logged)."""
    changed, previous = event.get("message"), event.get("previous_message")
    if event.get("channel_type") != "im" or not isinstance(changed, dict):
        log.debug("slack edit ignored: not a DM message")
        return None
    user = changed.get("user")
    if not is_id(user) or changed.get("bot_id"):
        log.debug("slack edit ignored: not a member's message")
        return None
    ts = changed.get("ts") or (previous.get("ts") if isinstance(previous, dict) else None)
    message_id = _message_id(event.get("channel"), ts)
    if message_id is None:
        log.info("slack edit ignored: the edited message has no channel or ts")
        return None
    text = changed.get("text") if isinstance(changed.get("text"), str) else ""
    return EditedMessage(
        sender=Sender(Provider.SLACK, workspace, user),
        message_id=message_id,
        text=str(text),
        event_id=event_id if is_id(event_id) else None,
    )
