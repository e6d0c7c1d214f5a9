"""The OpenAI brain, through the real openai SDK over HTTP, against a local compatible server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from adapters.llm.openai_brain import OpenAIBrain, is_reasoning_model
from adapters.llm.prompts import REASK
from core.catalog import GLOBAL_AGENTS
from core.continuity import plan_for
from core.domain import Speaker
from core.ports import BrainReply, BrainUnavailable
from core.scripted_brain import FallbackBrain, ScriptedBrain
from tests.fakes.checkin_driver import Checkin
from tests.fakes.openai_server import ACK, FakeOpenAIServer, schema_properties

#: A first check-in's plan: nothing of an earlier one to follow up.
DAILY = plan_for(next(agent for agent in GLOBAL_AGENTS if agent.slug == "daily"), None)
MEMBER_SAYS = (
    "4",
    "Billing migration.",
    "Mostly the data backfill for old invoices.",
    "Waiting on access.",
    "I need read access to the production replica; the IT ticket is open.",
)
MakeBrain = Callable[..., OpenAIBrain]


@pytest.fixture
async def make_brain(openai_server: FakeOpenAIServer) -> AsyncIterator[MakeBrain]:
    made: list[OpenAIBrain] = []

    def make(**overrides: Any) -> OpenAIBrain:
        settings: dict[str, Any] = {
            "api_key": "test-key",
            "model": "test-model",
            "base_url": openai_server.base_url,
            "timeout_seconds": 5.0,
            "max_retries": 1,
        }
        made.append(OpenAIBrain(**(settings | overrides)))
        return made[-1]

    yield make
    for brain in made:
        await brain.close()


@pytest.fixture
def checkin(make_brain: MakeBrain) -> Checkin:
    return Checkin(brain=make_brain(), agent=DAILY)


async def say(checkin: Checkin, *texts: str) -> BrainReply:
    reply = await checkin.start() if not checkin.transcript else None
    for text in texts:
        reply = await checkin.answer(text)
    assert reply is not None
    return reply


def turn_requests(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    return [body for body in server.requests if "ask" in schema_properties(body)]


def context_of(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def kind_of(body: dict[str, Any]) -> str:
    properties = schema_properties(body)
    return "turn" if "ask" in properties else "extract" if properties else "ack"


# --- a whole check-in ---------------------------------------------------------------------------
async def test_a_daily_checkin_ends_with_dots_and_a_summary(checkin: Checkin) -> None:
    reply = await say(checkin, *MEMBER_SAYS)

    assert reply.done
    assert reply.dots == {
        "mood": 4.0,
        "focus": "Mostly the data backfill for old invoices",
        "blockers": "I need read access to the production replica",
    }
    assert reply.summary and reply.summary.startswith("Checked in:")


async def test_the_checkin_follows_the_plan_with_a_follow_up_on_each_vague_answer(
    checkin: Checkin,
) -> None:
    await say(checkin, *MEMBER_SAYS)

    asked = [t.question_key for t in checkin.transcript if t.speaker is Speaker.AGENT]
    assert asked == ["mood", "focus", "focus", "blockers", "blockers", None]
    assert checkin.state["follow_ups"] == 2


async def test_every_request_names_the_configured_model(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, *MEMBER_SAYS)

    assert len(openai_server.requests) == 4
    assert {body["model"] for body in openai_server.requests} == {"test-model"}


async def test_every_request_keeps_the_output_short(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4, pretty good today", *MEMBER_SAYS[1:])

    limits = [(kind_of(body), body["max_tokens"]) for body in openai_server.requests]
    assert limits == [("ack", 60), ("turn", 150), ("turn", 150), ("turn", 150), ("extract", 250)]
    assert not any("max_completion_tokens" in body for body in openai_server.requests)


@pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "openai/o3"])
async def test_a_reasoning_model_gets_max_completion_tokens_with_room_to_think(
    make_brain: MakeBrain, openai_server: FakeOpenAIServer, model: str
) -> None:
    checkin = Checkin(brain=make_brain(model=model), agent=DAILY)

    await say(checkin, "4, pretty good today", "Billing migration.")

    ack, turn = openai_server.requests
    assert (ack["max_completion_tokens"], turn["max_completion_tokens"]) == (2_060, 2_150)
    assert "max_tokens" not in ack and "max_tokens" not in turn


@pytest.mark.parametrize(
    ("model", "reasoning", "expected"),
    [
        ("llama3.1:8b", None, "max_tokens"),  # Ollama
        ("olmo2", None, "max_tokens"),  # starts with "o", is no o-series model
        ("gpt-4o-mini", None, "max_tokens"),
        ("o3-mini", False, "max_tokens"),  # a compatible server that wants max_tokens
        ("Qwen/QwQ-32B", True, "max_completion_tokens"),  # a reasoning model, by the option
    ],
)
async def test_the_token_limit_parameter_follows_the_model_or_the_option(
    make_brain: MakeBrain,
    openai_server: FakeOpenAIServer,
    model: str,
    reasoning: bool | None,
    expected: str,
) -> None:
    checkin = Checkin(brain=make_brain(model=model, reasoning=reasoning), agent=DAILY)

    await say(checkin, "4", "Billing migration.")

    (body,) = openai_server.requests
    assert {"max_tokens", "max_completion_tokens"} & set(body) == {expected}


def test_reasoning_models_are_recognised_by_name() -> None:
    assert [is_reasoning_model(m) for m in ("o1-preview", "GPT-5.1", "openai/gpt-5-nano")] == [
        True,
        True,
        True,
    ]
    assert [is_reasoning_model(m) for m in ("gpt-4.1", "openhermes", "omni-7b")] == [
        False,
        False,
        False,
    ]


async def test_the_system_prompt_carries_the_persona_goal_and_plan(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4", "Billing migration.")

    system = openai_server.requests[0]["messages"][0]
    assert system["role"] == "system"
    for part in (DAILY.persona, DAILY.goal, *(q.text for q in DAILY.questions)):
        assert part in system["content"]


async def test_later_turns_send_a_summary_and_the_current_thread_not_the_transcript(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, *MEMBER_SAYS[:4])

    known, status, *thread = context_of(turn_requests(openai_server)[-1]).splitlines()
    assert known == (
        "Known: mood=4; focus=Billing migration. / Mostly the data backfill for old invoices."
    )
    assert status == "Status: current=blockers next=none follow_ups_left=1"
    assert thread == [
        "Agent: Thanks, got it. Anything blocking you? (say 'none' if not)",
        "Member: Waiting on access.",
    ]


async def test_turns_ask_for_strict_json_naming_a_plan_key(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4", "Billing migration.")

    response_format = openai_server.requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == ["reply", "ask"]
    assert schema["properties"]["ask"]["enum"] == ["mood", "focus", "blockers", "none"]


async def test_the_extraction_asks_for_the_text_dot_keys_with_every_answer_to_them(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, *MEMBER_SAYS)

    extraction = openai_server.requests[-1]
    assert extraction["response_format"]["json_schema"]["strict"] is True
    assert schema_properties(extraction) == {
        "focus": {"type": "string"},
        "blockers": {"type": "string"},
        "summary": {"type": "string"},
    }
    assert context_of(extraction).splitlines() == [
        "Known: mood=4",
        "focus: Billing migration. | Mostly the data backfill for old invoices.",
        "blockers: Waiting on access. | " + MEMBER_SAYS[-1],
    ]


# --- code keeps the model to the plan ------------------------------------------------------------
async def test_the_opening_needs_no_model_call(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    reply = await checkin.start()

    assert reply.question == DAILY.questions[0]
    assert reply.text == f"Hi Ana! Time for your daily check-in.\n{DAILY.questions[0].text}"
    assert openai_server.requests == []


@pytest.mark.parametrize("said", ["4", "four", "4/5", "4 out of 5", "🙂", "4, good"])
async def test_a_bare_scale_value_moves_on_without_a_model_call(
    checkin: Checkin, openai_server: FakeOpenAIServer, said: str
) -> None:
    reply = await say(checkin, said)

    assert checkin.state["answers"] == {"mood": 4}
    assert reply.question == DAILY.questions[1]
    assert reply.text == f"Got it, thanks!\n{DAILY.questions[1].text}"
    assert reply.calls == ()
    assert openai_server.requests == []


async def test_a_scale_answer_with_words_is_acknowledged_then_the_plan_question_follows(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push("Glad it's a good day!")

    reply = await say(checkin, "4, a pretty good day")

    assert reply.text == f"Glad it's a good day!\n{DAILY.questions[1].text}"
    assert reply.question == DAILY.questions[1]
    assert [(call.purpose, call.outcome) for call in reply.calls] == [("ack", "ok")]
    (body,) = openai_server.requests
    assert "response_format" not in body  # one plain sentence: no schema, no plan
    assert context_of(body).splitlines()[-1] == "Member: 4, a pretty good day"
    assert DAILY.persona in body["messages"][0]["content"]
    assert DAILY.questions[1].text not in body["messages"][0]["content"]


async def test_an_acknowledgement_that_asks_its_own_question_is_not_used(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push("Nice! Anything blocking you today?")

    reply = await say(checkin, "4, a pretty good day")

    assert reply.text == f"Got it, thanks!\n{DAILY.questions[1].text}"
    assert [(call.outcome, call.error) for call in reply.calls] == [("invalid", "OffPlanAck")]


async def test_after_the_last_follow_up_the_model_only_acknowledges(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4")
    for _ in range(2):
        openai_server.push({"reply": "Tell me more?", "ask": "focus"})

    answers = ("The billing work.", "Invoices, mostly.", "Old invoice data.")
    first, second, third = [await checkin.answer(text) for text in answers]

    assert [kind_of(body) for body in openai_server.requests] == ["turn", "turn", "ack"]
    assert (first.question, second.question) == (None, None)
    assert third.question == DAILY.questions[2]
    assert third.text == f"{ACK}\n{DAILY.questions[2].text}"
    assert third.state["follow_ups"] == DAILY.max_follow_ups == 2


async def test_after_the_last_follow_up_a_short_answer_moves_on_without_a_call(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4")
    for _ in range(2):
        openai_server.push({"reply": "Tell me more?", "ask": "focus"})

    *_, third = [await checkin.answer(text) for text in ("Billing.", "Invoices.", "Backfill.")]

    assert len(openai_server.requests) == 2
    assert third.text == f"Got it, thanks!\n{DAILY.questions[2].text}"


async def test_the_model_cannot_end_the_checkin_while_questions_remain(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push({"reply": "Thanks, that's all!", "ask": "none"})

    reply = await say(checkin, "4", "The billing migration, all day long.")

    assert not reply.done
    assert reply.question == DAILY.questions[2]


async def test_the_model_cannot_skip_a_plan_question(
    make_brain: MakeBrain, openai_server: FakeOpenAIServer
) -> None:
    focus, blockers, mood = DAILY.questions[1], DAILY.questions[2], DAILY.questions[0]
    mood_last = replace(DAILY, questions=(focus, blockers, mood))
    checkin = Checkin(brain=make_brain(), agent=mood_last)
    openai_server.push({"reply": "How are you feeling, 1 to 5?", "ask": "mood"})

    reply = await say(checkin, "The billing migration, all day long.")

    assert reply.question == blockers
    assert reply.text == f"Got it, thanks!\n{blockers.text}"


# --- ai_logs records -----------------------------------------------------------------------------
async def test_each_call_is_returned_with_its_usage(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    openai_server.push(
        {"reply": "Say more?", "ask": "focus"},
        prompt_tokens=321,
        completion_tokens=12,
        cached_tokens=256,
    )

    reply = await say(checkin, "4", "Billing migration.")

    (call,) = reply.calls
    assert (call.purpose, call.model, call.outcome, call.error) == (
        "turn",
        "test-model",
        "ok",
        None,
    )
    assert (call.tokens_in, call.tokens_out, call.cached_tokens) == (321, 12, 256)
    assert call.request_id is not None and call.request_id.startswith("req_fake_")
    assert call.latency_ms >= 0


async def test_the_prompt_text_is_left_out_by_default(checkin: Checkin) -> None:
    reply = await say(checkin, "4", "Billing migration.")

    assert [call.prompt_text for call in reply.calls] == [None]


async def test_the_prompt_text_is_kept_when_asked_for(make_brain: MakeBrain) -> None:
    checkin = Checkin(brain=make_brain(include_text=True), agent=DAILY)

    reply = await say(checkin, "4", "Billing migration.")

    (call,) = reply.calls
    assert call.prompt_text is not None
    assert DAILY.persona in call.prompt_text and "Member: Billing migration." in call.prompt_text


# --- failures ------------------------------------------------------------------------------------
async def test_server_errors_beyond_the_retries_make_the_brain_unavailable(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4")
    openai_server.fail_next(2, status=500)

    with pytest.raises(BrainUnavailable) as failure:
        await checkin.answer("Billing migration.")

    assert len(openai_server.requests) == 2  # the first try and max_retries=1
    (call,) = failure.value.calls
    assert (call.outcome, call.error, call.tokens_in) == ("error", "InternalServerError", 0)


async def test_a_rate_limit_within_the_retries_is_retried(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4")
    openai_server.fail_next(1, status=429)

    reply = await checkin.answer("Billing migration.")

    assert len(openai_server.requests) == 2
    assert [call.outcome for call in reply.calls] == ["ok"]


async def test_invalid_output_is_asked_for_again_once(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4")
    openai_server.push("Sure! Here is my answer: {reply: ...")

    reply = await checkin.answer("Billing migration.")

    assert [(call.outcome, call.error) for call in reply.calls] == [
        ("invalid", "ValidationError"),
        ("ok", None),
    ]
    assert openai_server.requests[1]["messages"][-1] == {"role": "user", "content": REASK}


async def test_output_that_stays_invalid_makes_the_brain_unavailable(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, "4")
    openai_server.push({"reply": "Say more?"})
    openai_server.push({"reply": "Say more?", "ask": "somewhere else"})

    with pytest.raises(BrainUnavailable) as failure:
        await checkin.answer("Billing migration.")

    assert [call.outcome for call in failure.value.calls] == ["invalid", "invalid"]
    assert len(openai_server.requests) == 2


async def test_an_extraction_without_every_dot_key_is_invalid(
    checkin: Checkin, openai_server: FakeOpenAIServer
) -> None:
    await say(checkin, *MEMBER_SAYS[:-1])
    for _ in range(2):
        openai_server.push({"focus": "backfill", "summary": "Busy day."})

    with pytest.raises(BrainUnavailable) as failure:
        await checkin.answer(MEMBER_SAYS[-1])

    assert [(c.purpose, c.outcome) for c in failure.value.calls] == [("extract", "invalid")] * 2


async def test_a_slow_server_makes_the_brain_unavailable_within_the_timeout(
    make_brain: MakeBrain, openai_server: FakeOpenAIServer
) -> None:
    checkin = Checkin(brain=make_brain(timeout_seconds=0.3, max_retries=0), agent=DAILY)
    await say(checkin, "4")
    openai_server.delay_next(1, seconds=3.0)

    started = time.perf_counter()
    with pytest.raises(BrainUnavailable) as failure:
        await checkin.answer("Billing migration.")

    assert time.perf_counter() - started < 2.0
    assert [call.error for call in failure.value.calls] == ["APITimeoutError"]


async def test_after_a_failure_the_scripted_brain_finishes_with_every_answer(
    make_brain: MakeBrain, openai_server: FakeOpenAIServer
) -> None:
    brain = FallbackBrain(primary=make_brain(), fallback=ScriptedBrain())
    checkin = Checkin(brain=brain, agent=DAILY)
    await say(checkin, "4", "Billing migration.")
    openai_server.fail_next(2, status=503)

    carried_on = await checkin.answer("Mostly the data backfill for old invoices.")
    done = await say(checkin, "Waiting on access.")

    assert carried_on.question == DAILY.questions[2]
    assert [call.outcome for call in carried_on.calls] == ["error"]
    assert done.done and done.dots == {
        "mood": 4.0,
        "focus": "Billing migration.\nMostly the data backfill for old invoices.",
        "blockers": "Waiting on access.",
    }
