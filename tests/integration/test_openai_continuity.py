"""The OpenAI brain follows up the previous check-in from a compact summary of it, over real
HTTP against the local OpenAI-compatible server (tests/fakes/openai_server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.llm.openai_brain import OpenAIBrain
from adapters.llm.prompts import RECALL_CHARS
from core.catalog import GLOBAL_AGENTS
from core.ports import Recall
from tests.fakes.checkin_driver import Checkin
from tests.fakes.openai_server import FakeOpenAIServer, approx_tokens, request_tokens

DAILY = next(agent for agent in GLOBAL_AGENTS if agent.slug == "daily")
BLOCKER = "Waiting on legal for the vendor contract"
WORDED = "Morning Ana! Last time legal was holding up the vendor contract. Still stuck there?"


@pytest.fixture
async def brain(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAIBrain]:
    made = OpenAIBrain(
        api_key="test-key",
        model="test-model",
        base_url=openai_server.base_url,
        timeout_seconds=5.0,
        max_retries=0,
    )
    yield made
    await made.close()


def opening_context(server: FakeOpenAIServer) -> str:
    [request] = server.requests
    return str(request["messages"][-1]["content"])


async def test_the_opening_words_the_blocker_from_a_compact_summary(
    brain: OpenAIBrain, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(WORDED)
    checkin = Checkin(brain=brain, agent=DAILY, recall=Recall(blocker=BLOCKER, blocker_checkins=2))
    reply = await checkin.start()
    assert reply.text == WORDED and reply.question is not None
    assert reply.question.key == "blocker_status"
    assert opening_context(openai_server) == (
        f'Last check-in: blocker="{BLOCKER}" (open for 2 check-in(s))\n'
        "Question: Is it still blocking you, or resolved?"
    )
    assert [call.purpose for call in reply.calls] == ["opening"]


async def test_the_summary_stays_small_however_long_the_earlier_answer(
    brain: OpenAIBrain, openai_server: FakeOpenAIServer
) -> None:
    rambling = "We are waiting on legal, again and again. " * 100
    checkin = Checkin(brain=brain, agent=DAILY, recall=Recall(blocker=rambling, blocker_checkins=1))
    await checkin.start()
    assert len(opening_context(openai_server)) < RECALL_CHARS + 120
    assert request_tokens(openai_server.requests[0], approx_tokens) < 200


async def test_an_unusable_wording_falls_back_to_the_rule(
    brain: OpenAIBrain, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push("")
    checkin = Checkin(brain=brain, agent=DAILY, recall=Recall(focus="Finish the Q4 roadmap review"))
    reply = await checkin.start()
    assert reply.text == (
        "Hi Ana! Time for your daily check-in.\n"
        "Last time your main focus was: “Finish the Q4 roadmap review”.\nHow did it go?"
    )


async def test_without_a_previous_check_in_the_opening_costs_no_call(
    brain: OpenAIBrain, openai_server: FakeOpenAIServer
) -> None:
    reply = await Checkin(brain=brain, agent=DAILY).start()
    assert reply.question is not None and reply.question.key == "mood"
    assert openai_server.requests == []


async def test_later_turns_keep_the_summary_and_the_carried_blocker_needs_no_asking(
    brain: OpenAIBrain, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(WORDED)
    checkin = Checkin(brain=brain, agent=DAILY, recall=Recall(blocker=BLOCKER, blocker_checkins=1))
    await checkin.start()
    await checkin.answer("still blocked")
    await checkin.answer("4")
    await checkin.answer("Prep.")  # vague: the model may follow up, with the summary at hand
    turn = next(body for body in openai_server.requests if _asks(body))
    assert f'Last check-in: blocker="{BLOCKER}"' in str(turn["messages"][-1]["content"])
    assert checkin.state["answers"]["blockers"] == BLOCKER


async def test_the_dots_settle_the_blockers_status_without_the_model(
    brain: OpenAIBrain, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(WORDED)
    checkin = Checkin(brain=brain, agent=DAILY, recall=Recall(blocker=BLOCKER, blocker_checkins=1))
    await checkin.start()
    reply = None
    for text in (
        "resolved",
        "4",
        "Ship the new billing page by tonight",
        "Nothing at all, it is all clear now",
    ):
        reply = await checkin.answer(text)
    assert reply is not None and reply.done and reply.dots["blocker_status"] == "resolved"
    extraction = openai_server.requests[-1]["response_format"]["json_schema"]["schema"]
    assert {"blocker_status", "blocker_checkins", "focus_review"}.isdisjoint(
        extraction["properties"]
    )


def _asks(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format") or {}
    return "ask" in fmt.get("json_schema", {}).get("schema", {}).get("properties", {})
