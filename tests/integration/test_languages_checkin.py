"""The check-in in the member's language: opening, buttons, replies, closing, reminders and
emails in each shipped language; answers read in every language and stored neutral."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.openai_brain import OpenAIBrain
from core.domain import Provider
from core.inbound import CommandRequest, IncomingMessage, Sender
from core.scripted_brain import FallbackBrain, ScriptedBrain
from core.store.models import Dot, Message
from core.typed import TypedChat
from tests.fakes.moto_ses import MotoSes
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.reminder_world import add_members, build_world
from tests.fakes.world import add_member, add_org
from tests.integration.test_conversation import ANA, Engine, build, delivered


@dataclass(frozen=True)
class Spoken:
    """What a member of one language reads, and what they type, in a daily check-in."""

    language: str
    greeting: str
    mood: str
    skip: str
    focus: str
    blockers: str
    nothing: str
    thanks: str


SPOKEN = [
    Spoken(
        "en", "Hi Ana! Time for your daily check-in.",
        "How are you feeling today, from 1 (rough) to 5 (great)?", "Skip today",
        "What's your main focus today?", "Anything blocking you? (say 'none' if not)",
        "none", "Thanks, Ana! That's all for today. 🙌",
    ),
    Spoken(
        "de", "Hi Ana! Zeit für deinen Tages-Check-in.",
        "Wie geht es dir heute, von 1 (schlecht) bis 5 (großartig)?", "Heute überspringen",
        "Worauf konzentrierst du dich heute vor allem?",
        "Blockiert dich gerade etwas? (schreib 'keine', wenn nicht)",
        "keine", "Danke, Ana! Das war's für heute. 🙌",
    ),
    Spoken(
        "fr", "Salut Ana ! C'est l'heure de ton check-in quotidien.",
        "Comment te sens-tu aujourd'hui, de 1 (difficile) à 5 (très bien) ?",
        "Passer aujourd'hui", "Quelle est ta priorité aujourd'hui ?",
        "Quelque chose te bloque ? (réponds 'rien' sinon)",
        "rien", "Merci, Ana ! C'est tout pour aujourd'hui. 🙌",
    ),
    Spoken(
        "es", "¡Hola, Ana! Es hora de tu check-in diario.",
        "¿Cómo te sientes hoy, de 1 (mal) a 5 (genial)?", "Saltar hoy",
        "¿Cuál es tu prioridad hoy?", "¿Algo te está bloqueando? (di 'nada' si no)",
        "nada", "¡Gracias, Ana! Eso es todo por hoy. 🙌",
    ),
    Spoken(
        "pt", "Oi, Ana! Hora do seu check-in diário.",
        "Como você está se sentindo hoje, de 1 (mal) a 5 (ótimo)?", "Pular hoje",
        "Qual é o seu foco principal hoje?",
        "Alguma coisa está te bloqueando? (diga 'nada' se não)",
        "nenhum", "Valeu, Ana! Por hoje é só. 🙌",
    ),
]  # fmt: skip


async def speaking_world(engine: AsyncEngine, *, member: str | None, org: str = "en") -> Engine:
    """Ana (language `member`; None: the org's) in an org whose default is `org`."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        acme = await add_org(db, language=org)
        await add_member(db, acme, ANA, timezone="Europe/Berlin", language=member)
    return world


async def stored_dots(world: Engine) -> dict[str, float | str | None]:
    async with world.sessions() as db:
        return {d.key: d.num_value or d.text_value for d in await db.scalars(select(Dot))}


@pytest.mark.parametrize("spoken", SPOKEN, ids=[s.language for s in SPOKEN])
async def test_a_whole_check_in_in_the_members_language(
    engine: AsyncEngine, spoken: Spoken
) -> None:
    world = await speaking_world(engine, member=spoken.language)
    await delivered(world)
    [(_to, opening)] = world.channel.sent
    assert opening.text == f"{spoken.greeting}\n{spoken.mood}"
    assert [b.label for b in opening.buttons][-1] == spoken.skip
    [focus] = await world.say("4", choice=opening.buttons[3].value)
    assert focus.text == spoken.focus
    [blockers] = await world.say("Ship the billing page")
    assert blockers.text == spoken.blockers
    [thanks] = await world.say(spoken.nothing)
    assert thanks.text == spoken.thanks and world.channel.sent[-1][1].text == spoken.thanks
    assert await stored_dots(world) == {
        "mood": 4.0, "focus": "Ship the billing page", "blockers": "none",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("language", "four"), [("de", "vier"), ("fr", "quatre"), ("es", "cuatro"), ("pt", "quatro")]
)
async def test_a_mood_typed_as_a_word_in_the_members_language_is_read(
    engine: AsyncEngine, language: str, four: str
) -> None:
    world = await speaking_world(engine, member=language)
    session_id = await delivered(world)
    await world.say(four)
    assert (await world.session(session_id)).brain_state["answers"] == {"mood": 4}


async def test_a_member_without_a_language_is_spoken_to_in_the_orgs(
    engine: AsyncEngine,
) -> None:
    world = await speaking_world(engine, member=None, org="fr")
    await delivered(world)
    [(_to, opening)] = world.channel.sent
    assert opening.text.startswith("Salut Ana ! C'est l'heure de ton check-in quotidien.")
    [focus] = await world.say("4")
    assert focus.text == "Quelle est ta priorité aujourd'hui ?"


async def test_a_reply_not_understood_is_asked_again_in_the_members_language(
    engine: AsyncEngine,
) -> None:
    world = await speaking_world(engine, member="de")
    await delivered(world)
    [again] = await world.say("irgendwas dazwischen")
    assert again.text.startswith("Sorry, das habe ich nicht verstanden")


async def test_the_answered_question_shows_the_choice_in_the_members_language(
    engine: AsyncEngine,
) -> None:
    world = await speaking_world(engine, member="es")
    await delivered(world)
    [(_to, opening)] = world.channel.sent
    await world.say("4", choice=opening.buttons[3].value)
    assert world.channel.updated[0][1].text.endswith("✅ Elegiste 4")


async def test_the_agent_turns_are_stored_as_said_and_the_answers_as_written(
    engine: AsyncEngine,
) -> None:
    world = await speaking_world(engine, member="de")
    await delivered(world)
    await world.say("vier")
    async with world.sessions() as db:
        turns = [
            (m.speaker, m.text) for m in await db.scalars(select(Message).order_by(Message.id))
        ]
    assert turns[1:] == [
        ("member", "vier"), ("agent", "Worauf konzentrierst du dich heute vor allem?"),
    ]  # fmt: skip


# --- reminders and emails ----------------------------------------------------------------------
async def test_a_check_in_email_to_a_spanish_member_is_in_spanish(
    engine: AsyncEngine, moto_ses: MotoSes
) -> None:
    world = build_world(engine, moto_ses.mailer())
    await add_members(world.sessions, (ANA, {"email_only": True, "language": "es"}))
    await world.deliver()
    await world.remind_at(8, 1)  # no chat reaches her: the check-in goes by email
    [email] = moto_ses.sent_to(ANA)
    assert email["subject"] == "Tu Check-in diario, Ana"
    assert "Hola, Ana:" in email["body"] and "¿Cómo te sientes hoy" in email["body"]
    assert "Responder en tu navegador" in email["body"] and '<html lang="es">' in email["body"]


async def test_a_reminder_email_to_a_spanish_member_is_in_spanish(
    engine: AsyncEngine, moto_ses: MotoSes
) -> None:
    world = build_world(engine, moto_ses.mailer())
    await add_members(world.sessions, (ANA, {"language": "es"}))
    await world.deliver()
    await world.remind_at(9, 5)  # the chat nudge first
    await world.remind_at(14, 5)  # still silent: the slot's reminder email
    [email] = moto_ses.sent_to(ANA)
    assert email["subject"] == "Recordatorio: tu Check-in diario te espera"
    assert "tu Check-in diario sigue abierto" in email["body"]


async def test_a_chat_nudge_is_in_the_members_language(
    engine: AsyncEngine, moto_ses: MotoSes
) -> None:
    world = build_world(engine, moto_ses.mailer())
    await add_members(world.sessions, (ANA, {"language": "de"}))
    await world.deliver()
    await world.remind_at(9, 5)
    [_opening, (_to, nudge)] = world.channel.sent
    assert nudge.text.startswith("Kleine Erinnerung: dein **Tages-Check-in** ist noch offen.")
    assert nudge.text.endswith("Wie geht es dir heute, von 1 (schlecht) bis 5 (großartig)?")


@pytest.fixture
async def german(engine: AsyncEngine) -> AsyncIterator[Engine]:
    yield await speaking_world(engine, member="de")


async def test_a_message_with_nothing_open_is_answered_in_the_members_language(
    german: Engine,
) -> None:
    await german.say("hallo?")
    [(_to, offer)] = german.channel.sent
    assert offer.text.startswith("Gerade ist kein Check-in für dich offen. Schreib **start**")


# --- the OpenAI brain --------------------------------------------------------------------------
async def test_the_openai_brain_is_told_to_converse_in_the_members_language(
    engine: AsyncEngine, openai_server: FakeOpenAIServer
) -> None:
    brain = OpenAIBrain(
        api_key="sk-test", model="test-model", base_url=openai_server.base_url,
        timeout_seconds=5, max_retries=1,
    )  # fmt: skip
    world = build(engine, FallbackBrain(primary=brain, fallback=ScriptedBrain()))
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, language="de")
    try:
        await delivered(world)
        await world.say("vier")
        await world.say("Die Abrechnungsseite fertig machen")
    finally:
        await brain.close()
    systems = [r["messages"][0]["content"] for r in openai_server.requests]
    assert systems and all(s.endswith("Converse in German.") for s in systems)


async def test_a_command_word_taken_as_an_answer_is_explained_in_the_members_language(
    engine: AsyncEngine,
) -> None:
    world = await speaking_world(engine, member="fr")
    await delivered(world)
    chat = TypedChat(conversations=world.conversations, run_command=never_run)
    said = await chat.handle(IncomingMessage(Sender(Provider.DEV, "acme", ANA), "help"))
    assert not said.command
    assert said.replies[-1].text == (
        "(J'ai pris ça comme ta réponse. Pour lancer `help` pendant qu'une question attend, "
        "écris `/vizdots help`.)"
    )
    assert world.channel.sent[-1][1].text == said.replies[-1].text


async def never_run(request: CommandRequest) -> str:
    raise AssertionError(f"no command runs while a question waits: {request.text}")
