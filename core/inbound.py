"""What adapters hand to core: every channel's inbound traffic as one of these types."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain import Provider


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent something, as the channel names them.

    `workspace` is the Slack team id, the Teams tenant id, the org slug for the dev
    channel, or the org id for the browser page (email); `user` is the Slack user id,
    the Teams AAD object id, the member's email for the dev channel, or the member id for
    the browser page (core.identity.email_sender builds it).
    """

    provider: Provider
    workspace: str
    user: str


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A member's turn: free text, or a button choice (`choice` set, `text` its label)."""

    sender: Sender
    text: str
    event_id: str | None = None
    message_id: str | None = None
    choice: str | None = None
    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class EditedMessage:
    """A member corrected an earlier reply (Slack message_changed)."""

    sender: Sender
    message_id: str
    text: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """A resolved member acting in their organisation (commands, admin API)."""

    org_id: int
    member_id: int
    is_admin: bool
    provider: Provider


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """`/vizdots …` in Slack, the same words typed in Teams or the dev chat."""

    sender: Sender
    text: str
    #: Where the command was typed (a channel id), used as the default report channel.
    channel_id: str | None = None
