"""The OpenAI model as a Summariser: a team digest's few sentences about a group.

It reads the check-ins' own summaries (never the transcripts) and answers in plain
prose, no names. Core asks only for groups of at least 5 people (core.digest); a failed
call is recorded (for ai_logs) and the digest goes without a summary.
"""

from __future__ import annotations

import time
from typing import Any

import openai
from openai import omit

from adapters.llm.call_record import recorded_call
from adapters.llm.openai_brain import REASONING_TOKENS, is_reasoning_model
from adapters.llm.prompts import Messages
from core.ports import AiCall, GroupSummary

SUMMARY_TOKENS = 200
SUMMARY_CHARS = 700
PURPOSE = "digest"
INSTRUCTIONS = (
    "You summarise a team's daily check-ins for the team's channel. In at most three short "
    "sentences, say how the group is doing, what it is focused on and what blocks it. "
    "Never name or single out a person; plain text, no lists."
)


class OpenAISummariser:
    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout_seconds: float,
        max_retries: int,
        include_text: bool = False,
    ) -> None:
        self.model = model
        self.include_text = include_text
        self.reasoning = is_reasoning_model(model)
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=max_retries
        )

    async def close(self) -> None:
        await self._client.close()

    async def summarise(self, *, group: str, summaries: tuple[str, ...]) -> GroupSummary:
        said = "\n".join(f"- {text}" for text in summaries)
        messages: Messages = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Group: {group}\nCheck-in summaries:\n{said}"},
        ]
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=omit if self.reasoning else SUMMARY_TOKENS,
                max_completion_tokens=SUMMARY_TOKENS + REASONING_TOKENS if self.reasoning else omit,
            )
        except openai.APIError as error:
            return GroupSummary(None, (self._recorded(messages, started, error=error),))
        text = (response.choices[0].message.content or "").strip()[:SUMMARY_CHARS] or None
        call = self._recorded(
            messages, started, response=response, problem=None if text else "empty"
        )
        return GroupSummary(text, (call,))

    def _recorded(self, messages: Messages, started: float, **outcome: Any) -> AiCall:
        return recorded_call(
            purpose=PURPOSE,
            model=self.model,
            messages=messages,
            started=started,
            include_text=self.include_text,
            **outcome,
        )
