"""Chats without slash commands (the dev chat, the terminal, Teams): one rule says
whether a typed line is a command or a check-in turn, and one entry point acts on it.

A line is a command when it starts with "/vizdots" or addresses the bot (a Teams
@mention), or, when no check-in question is waiting for the member's answer, when its
first word is a command's ("help", "vacation until 2030-01-01"). While a question
waits, everything else is the answer: an answer is never taken for a command.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.commands.parser import VERBS
from core.conversation import Conversations
from core.i18n import N_, _, speaking
from core.inbound import CommandRequest, IncomingMessage
from core.ports import OutgoingMessage

_PREFIX = re.compile(r"^\s*/vizdots\b", re.IGNORECASE)

RunCommand = Callable[[CommandRequest], Awaitable[str]]
TAKEN_AS_ANSWER = N_(
    "(I took that as your answer. To run `{word}` while a question waits, type `/vizdots {word}`.)"
)
#: Words the check-in itself understands while a question waits (`skip` skips it).
_CHECKIN_WORDS = frozenset({"skip"})


def command_in(text: str, *, question_waiting: bool, addressed: bool = False) -> str | None:
    """The command words `text` spells, or None when it is a check-in turn."""
    prefixed = _PREFIX.match(text)
    if prefixed is not None:
        return text[prefixed.end() :].strip()
    if addressed:
        return text.strip()
    if question_waiting:
        return None
    return text.strip() if _first_word(text) in VERBS else None


def _first_word(text: str) -> str:
    words = text.split(maxsplit=1)
    return words[0].lower() if words else ""


def _reads_as_command(text: str) -> bool:
    return _first_word(text) in VERBS - _CHECKIN_WORDS


@dataclass(frozen=True, slots=True)
class Said:
    """What came of a typed line: read as a command or as a turn, and the replies."""

    command: bool
    replies: tuple[OutgoingMessage, ...]


class TypedChat:
    """A member's typed line (or button press) in a chat without slash commands."""

    def __init__(self, *, conversations: Conversations, run_command: RunCommand) -> None:
        self.conversations = conversations
        self.run_command = run_command

    async def handle(
        self, incoming: IncomingMessage, *, addressed: bool = False, apologise: bool = True
    ) -> Said:
        """Run the command the line spells, or take it as the member's turn.

        A command's reply goes to the member through their channel, once per event
        (a redelivered event is not answered twice), and is returned as well.
        `apologise=False`: a failing turn raises, for the inbox to retry it."""
        looks_like_command = False
        if incoming.choice is None:
            waiting = await self.conversations.question_waiting(incoming.sender)
            words = command_in(incoming.text, question_waiting=waiting, addressed=addressed)
            if words is not None:
                return Said(command=True, replies=(await self._command(incoming, words),))
            looks_like_command = waiting and _reads_as_command(incoming.text)
        replies = await self.conversations.handle_message(incoming, apologise=apologise)
        if looks_like_command:
            replies.append(await self._hint(incoming))
        return Said(command=False, replies=tuple(replies))

    async def _hint(self, incoming: IncomingMessage) -> OutgoingMessage:
        """A command word taken as an answer: say how to run the command instead."""
        word = _first_word(incoming.text)
        with speaking(await self.conversations.language_for(incoming.sender)):
            hint = OutgoingMessage(_(TAKEN_AS_ANSWER, word=word))
        event = incoming.event_id or uuid.uuid4().hex
        await self.conversations.tell(incoming.sender, hint, key=f"hint:{event}")
        return hint

    async def _command(self, incoming: IncomingMessage, words: str) -> OutgoingMessage:
        reply = OutgoingMessage(await self.run_command(CommandRequest(incoming.sender, words)))
        event = incoming.event_id or uuid.uuid4().hex
        await self.conversations.tell(incoming.sender, reply, key=f"command:{event}")
        return reply
