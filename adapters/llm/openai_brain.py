"""The OpenAI brain: a model words the check-in, code keeps it to the agent's plan.

Every call is a Chat Completion (what OpenAI-compatible servers such as vLLM and Ollama
speak). Code decides the plan order and the follow-up limit whatever the model says; the
model is asked only what code cannot know:
  * a turn (strict JSON, validated with pydantic) when a follow-up is possible: the reply
    and which key it asks about (the current one again is a follow-up);
  * an acknowledgement (one plain sentence) when the next step is already fixed, e.g. a
    scale answer with words: code then asks the plan question verbatim;
  * an extraction of the text dots and a summary, once, at the end.
  * an opening (one plain text) only when the previous check-in is followed up: the model
    words the recall of a compact summary of it (prompts.recall_summary).
No call at all for any other opening, a bare value ("4", a button) when no follow-up is
possible, or the end after the last follow-up. What is sent and accepted lives in prompts.py.
State keeps to the shared keys (answers, pending, follow_ups, summary) so the scripted
brain can carry on after BrainUnavailable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import openai
from openai import Omit, omit
from openai.types.chat import ChatCompletion
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel

from adapters.llm import prompts
from adapters.llm.call_record import recorded_call
from adapters.llm.prompts import Messages
from core.continuity import for_session, recall_line
from core.domain import AgentSpec, Question, QuestionKind, Speaker
from core.i18n import N_, _
from core.ports import AiCall, BrainInput, BrainReply, BrainUnavailable
from core.scripted_brain import greeting, next_question, summarise
from core.scripted_brain import thanks as thank_you

TURN_TOKENS = 150  # a JSON reply of 1-2 short sentences needs about 40
ACK_TOKENS = 60  # one short sentence
OPENING_TOKENS = 90  # a greeting, the recall and the question
EXTRACT_TOKENS = 250  # a few short phrases and a 1-2 sentence summary
REASONING_TOKENS = 2_000  # a reasoning model's budget also pays for its hidden reasoning
REASONING_MODEL = re.compile(r"(o\d|gpt-5)")  # o1, o3-mini, o4-mini, gpt-5, gpt-5-mini, …
BARE_WORDS = 2
SCALE_WORDS = frozenset({"out", "of", "one", "two", "three", "four", "five"})
SUMMARY_CHARS = 500
DOT_CHARS = 200
MOVE_ON = N_("Got it, thanks!")
Shape = TypeVar("Shape", bound=BaseModel)
Out = TypeVar("Out")


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models by name; a provider prefix ("openai/o3") is ignored."""
    return REASONING_MODEL.match(model.rsplit("/", 1)[-1].lower()) is not None


class OpenAIBrain:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout_seconds: float,
        max_retries: int,
        include_text: bool = False,
        reasoning: bool | None = None,
    ) -> None:
        """`reasoning`: the model thinks before it answers (None: guess from the name).

        Reasoning models refuse `max_tokens` and count their hidden reasoning against
        `max_completion_tokens`, so they get that parameter with a larger budget; other
        models, and the compatible servers (vLLM, Ollama), get `max_tokens`.
        """
        self.model = model
        self.include_text = include_text
        self.reasoning = is_reasoning_model(model) if reasoning is None else reasoning
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=max_retries
        )

    async def close(self) -> None:
        await self._client.close()

    async def opening(self, given: BrainInput) -> BrainReply:
        """Greeting and first question by rule: a session nobody answers costs no tokens.
        Only a follow-up of the previous check-in is worded by the model (one call)."""
        given = for_session(given)
        first = given.agent.questions[0]
        state = {**given.state, "answers": {}, "pending": first.key, "follow_ups": 0, "summary": ""}
        hello = greeting(given)
        if given.recall is None:
            return BrainReply(text=f"{hello}\n{first.text}", state=state, question=first)
        calls: list[AiCall] = []
        messages = prompts.opening_messages(given, first)
        worded = await self._send(
            "opening", messages, calls, limit=OPENING_TOKENS, read=prompts.read_opening
        )
        text = worded or f"{hello}\n{recall_line(given.recall)}\n{first.text}"
        return BrainReply(text=text, state=state, question=first, calls=tuple(calls))

    async def respond(self, given: BrainInput) -> BrainReply:
        """A turn call only when a follow-up is possible; otherwise code knows what comes next."""
        given = for_session(given)
        calls: list[AiCall] = []
        state: dict[str, Any] = {**given.state, "summary": prompts.digest(given, given.state)}
        upcoming = next_question(given.agent, state.get("answers", {}))
        if follow_ups_left(given.agent, state) > 0:
            return await self._turn(given, state, upcoming, calls)
        worded = None
        if upcoming is not None and not bare_answer(given):
            worded = await self._acknowledge(given, state.get("pending"), upcoming, calls)
        return await self._move_on(given, state, upcoming, calls, worded=worded)

    async def _turn(
        self,
        given: BrainInput,
        state: dict[str, Any],
        upcoming: Question | None,
        calls: list[AiCall],
    ) -> BrainReply:
        """The model's follow-up, or its move to the next plan question when it keeps to it."""
        left = follow_ups_left(given.agent, state)
        messages = prompts.turn_messages(given, state, follow_ups_left=left)
        fmt, shape = prompts.turn_format(given.agent), prompts.turn_model(given.agent)
        decision: prompts.TurnDecision = await self._structured(
            "turn", messages, fmt, shape, calls, limit=TURN_TOKENS
        )
        reply = decision.reply.strip()
        if decision.ask == state.get("pending") and reply:
            state["follow_ups"] = int(state.get("follow_ups", 0)) + 1
            return BrainReply(text=reply, state=state, calls=tuple(calls))
        on_plan = decision.ask == (upcoming.key if upcoming else prompts.NONE) and reply
        return await self._move_on(given, state, upcoming, calls, worded=reply if on_plan else None)

    async def _move_on(
        self,
        given: BrainInput,
        state: dict[str, Any],
        upcoming: Question | None,
        calls: list[AiCall],
        *,
        worded: str | None,
    ) -> BrainReply:
        """The next plan question, or the end; in the model's words when it kept to the plan."""
        if upcoming is None:
            return await self._finish(given, state, calls, thanks=worded)
        state["pending"] = upcoming.key
        text = worded or f"{_(MOVE_ON)}\n{upcoming.text}"
        return BrainReply(text=text, state=state, question=upcoming, calls=tuple(calls))

    async def _acknowledge(
        self, given: BrainInput, key: str | None, upcoming: Question, calls: list[AiCall]
    ) -> str:
        """The model's sentence on the answer, then the plan question word for word."""
        messages = prompts.ack_messages(given, key=key)
        ack = await self._send("ack", messages, calls, limit=ACK_TOKENS, read=prompts.read_ack)
        return f"{ack or _(MOVE_ON)}\n{upcoming.text}"

    async def _finish(
        self, given: BrainInput, state: dict[str, Any], calls: list[AiCall], *, thanks: str | None
    ) -> BrainReply:
        """Dots the engine read exactly, the rest (and a summary) from one extraction call."""
        agent, answers = given.agent, state.get("answers", {})
        dots: dict[str, float | str] = settled_dots(agent, answers)
        summary = summarise(agent, dots)
        if wanted := [key for key in agent.dot_keys if key not in dots]:
            found = await self._extract(given, wanted, dots, calls)
            summary = prompts.clip(str(found.pop("summary")), SUMMARY_CHARS) or summary
            dots |= _with_members_words(found, answers)
        state |= {"pending": None, "summary": summary}
        text = thanks or thank_you(given)
        return BrainReply(
            text=text, state=state, done=True, dots=dots, summary=summary, calls=tuple(calls)
        )

    async def _extract(
        self,
        given: BrainInput,
        wanted: list[str],
        known: Mapping[str, float | str],
        calls: list[AiCall],
    ) -> dict[str, Any]:
        messages = prompts.extraction_messages(given, wanted, known)
        fmt = prompts.extraction_format(given.agent, wanted)
        shape = prompts.extraction_model(given.agent, wanted)
        found = await self._structured("extract", messages, fmt, shape, calls, limit=EXTRACT_TOKENS)
        return found.model_dump()

    # --- talking to the server -------------------------------------------------------------------
    async def _structured(
        self,
        purpose: str,
        messages: Messages,
        response_format: ResponseFormatJSONSchema,
        shape: type[Shape],
        calls: list[AiCall],
        *,
        limit: int,
    ) -> Shape:
        """One strict-JSON call; output that fails the schema is asked for again once."""
        for _attempt in range(2):
            parsed = await self._send(
                purpose,
                messages,
                calls,
                limit=limit,
                read=lambda response: prompts.read_json(response, shape),
                response_format=response_format,
            )
            if parsed is not None:
                return parsed
            messages = [*messages, {"role": "user", "content": prompts.REASK}]
        raise BrainUnavailable(f"{purpose}: the model's output stayed invalid", calls=tuple(calls))

    async def _send(
        self,
        purpose: str,
        messages: Messages,
        calls: list[AiCall],
        *,
        limit: int,
        read: Callable[[ChatCompletion], tuple[Out | None, str | None]],
        response_format: ResponseFormatJSONSchema | Omit = omit,
    ) -> Out | None:
        """One recorded request, its output as `read` accepts it (None: why is recorded).

        The SDK retries transport errors and 408/409/429/5xx; after that the brain is
        unavailable and the engine's fallback carries the session on.
        """
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=response_format,
                max_tokens=omit if self.reasoning else limit,
                max_completion_tokens=limit + REASONING_TOKENS if self.reasoning else omit,
            )
        except openai.APIError as error:
            calls.append(self._recorded(purpose, messages, started, error=error))
            reason = f"{purpose} call failed: {type(error).__name__}"
            raise BrainUnavailable(reason, calls=tuple(calls)) from error
        value, problem = read(response)
        calls.append(self._recorded(purpose, messages, started, response=response, problem=problem))
        return value

    def _recorded(self, purpose: str, messages: Messages, started: float, **outcome: Any) -> AiCall:
        return recorded_call(
            purpose=purpose,
            model=self.model,
            messages=messages,
            started=started,
            include_text=self.include_text,
            **outcome,
        )


# --- rules of the plan ---------------------------------------------------------------------------
def follow_ups_left(agent: AgentSpec, state: Mapping[str, Any]) -> int:
    """Follow-ups go only to a text question: the engine reads scale and choice answers."""
    pending = next((q for q in agent.questions if q.key == state.get("pending")), None)
    if pending is None or pending.kind is not QuestionKind.TEXT:
        return 0
    return max(agent.max_follow_ups - int(state.get("follow_ups", 0)), 0)


def bare_answer(given: BrainInput) -> bool:
    """A button press or a bare value ("4", "4 out of 5", "🙂"): nothing to acknowledge.

    Digits, emoji and the words of a scale reading don't count; the engine has already
    read the value into `answers`.
    """
    last = given.transcript[-1] if given.transcript else None
    if last is None or last.speaker is not Speaker.MEMBER:
        return False
    tokens = (token.strip(".,;:!?()").lower() for token in last.text.split())
    words = [t for t in tokens if any(c.isalpha() for c in t) and t not in SCALE_WORDS]
    return len(words) <= BARE_WORDS


def settled_dots(agent: AgentSpec, answers: Mapping[str, Any]) -> dict[str, float | str]:
    """Dots the engine has already read exactly: scale numbers and choices need no model."""
    dots: dict[str, float | str] = {}
    for question in agent.questions:
        value = answers.get(question.key)
        if question.key not in agent.dot_keys or value is None:
            continue
        if question.kind is QuestionKind.SCALE and _is_scale(value):
            dots[question.key] = float(value)
        elif question.kind is QuestionKind.CHOICE and value in question.choices:
            dots[question.key] = str(value)
    return dots


def _with_members_words(
    extracted: Mapping[str, Any], answers: Mapping[str, Any]
) -> dict[str, float | str]:
    """Extracted dots; a text the model left empty keeps the member's own answer."""
    dots: dict[str, float | str] = {}
    for key, value in extracted.items():
        if isinstance(value, int):
            dots[key] = float(value)
            continue
        own = prompts.clip(str(answers.get(key) or ""), DOT_CHARS)
        if text := prompts.clip(str(value), DOT_CHARS) or own:
            dots[key] = text
    return dots


def _is_scale(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 5
