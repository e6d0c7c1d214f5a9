"""Chats without slash commands (Teams, the dev chat, the terminal): a typed command's
reply is sent to the member in their language, like Slack's."""

from __future__ import annotations

from core.commands.service import run_command
from core.domain import Provider
from core.inbound import CommandRequest, IncomingMessage, Sender
from core.typed import TypedChat
from tests.integration.test_conversation import ANA, Engine, world

__all__ = ["world"]  # the fixture, shared with the engine's tests
ANA_SAYS = Sender(Provider.DEV, "acme", ANA)


def typed(world: Engine) -> TypedChat:
    async def run(request: CommandRequest) -> str:
        reply = await run_command(
            sessions=world.sessions, request=request, directory=None, clock=world.clock
        )
        return reply.text

    return TypedChat(conversations=world.conversations, run_command=run)


async def test_a_typed_command_is_answered_in_the_members_language(world: Engine) -> None:
    chat = typed(world)
    await chat.handle(IncomingMessage(ANA_SAYS, "language pt", event_id="Ev1"))
    await chat.handle(IncomingMessage(ANA_SAYS, "help", event_id="Ev2"))
    sent = [message.text for _to, message in world.channel.sent]
    assert sent[0] == "Pronto: de agora em diante falo Português (pt) com você."
    assert sent[1].startswith("Veja o que você pode me pedir:\n- `skip` — pular o check-in")
