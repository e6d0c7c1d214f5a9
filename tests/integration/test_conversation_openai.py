"""A check-in through the real engine with the OpenAI brain, against a local server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.openai_brain import OpenAIBrain
from core.scripted_brain import FallbackBrain, ScriptedBrain
from core.store.models import AiLog, Dot
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.world import add_member, add_org
from tests.integration.test_conversation import ANA, Engine, build, delivered


@pytest.fixture
async def world(engine: AsyncEngine, openai_server: FakeOpenAIServer) -> AsyncIterator[Engine]:
    brain = OpenAIBrain(
        api_key="sk-test",
        model="test-model",
        base_url=openai_server.base_url,
        timeout_seconds=5,
        max_retries=1,
    )
    built = build(engine, FallbackBrain(primary=brain, fallback=ScriptedBrain()))
    async with built.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA)
    yield built
    await brain.close()


async def test_a_whole_check_in_through_the_openai_brain(
    world: Engine, openai_server: FakeOpenAIServer
) -> None:
    session_id = await delivered(world)
    await world.say("4")
    answers = ("Finishing the migration guide", "The examples", "none", "nothing", "no", "none")
    for answer in answers:  # the server's policy may ask follow-ups (at most the agent's 2)
        if (await world.session(session_id)).state == "completed":
            break
        await world.say(answer)
    assert (await world.session(session_id)).state == "completed"
    async with world.sessions() as db:
        dots = {d.key: d.num_value or d.text_value for d in await db.scalars(select(Dot))}
        logs = list(await db.scalars(select(AiLog)))
    assert dots["mood"] == 4.0 and {"focus", "blockers"} <= dots.keys()
    assert logs and all(log.model == "test-model" and log.outcome == "ok" for log in logs)
    assert all(request["model"] == "test-model" for request in openai_server.requests)


async def test_when_the_model_is_down_the_member_carries_on_scripted(
    world: Engine, openai_server: FakeOpenAIServer
) -> None:
    session_id = await delivered(world)
    openai_server.fail_next(50, status=500)
    await world.say("4")
    [reply] = await world.say("Finishing the migration guide")
    session = await world.session(session_id)
    assert reply.text == "Anything blocking you? (say 'none' if not)"
    assert session.brain_state["brain"] == "scripted"
    async with world.sessions() as db:
        outcomes = [log.outcome for log in await db.scalars(select(AiLog))]
    assert "error" in outcomes
