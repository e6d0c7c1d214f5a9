"""The OpenAI model as a Summariser: a team digest's few sentences about a group.

It reads the check-ins' own summaries (never the transcripts) and answers in plain
prose, no names. Core asks only for groups of at least 5 people (core.digest); a failed
call is recorded (for ai_logs) and the digest goes without a summary.
"""

from __future__ import annotations

import time

import openai
from openai import omit
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from adapters.llm.openai_brain import REASONING_TOKENS, is_reasoning_model
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
        messages: list[ChatCompletionMessageParam] = [
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
            return GroupSummary(None, (self._call(messages, started, error=error),))
        text = (response.choices[0].message.content or "").strip()[:SUMMARY_CHARS] or None
        call = self._call(messages, started, response=response, problem=None if text else "empty")
        return GroupSummary(text, (call,))

    def _call(
        self,
        messages: list[ChatCompletionMessageParam],
        started: float,
        *,
        response: ChatCompletion | None = None,
        error: openai.APIError | None = None,
        problem: str | None = None,
    ) -> AiCall:
        usage = response.usage if response is not None else None
        return AiCall(
            purpose=PURPOSE,
            model=self.model,
            outcome="error" if error is not None else "invalid" if problem else "ok",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            latency_ms=round((time.perf_counter() - started) * 1000),
            error=type(error).__name__ if error is not None else problem,
            request_id=response._request_id if response else getattr(error, "request_id", None),
            prompt_text=_as_text(messages) if self.include_text else None,
        )


def _as_text(messages: list[ChatCompletionMessageParam]) -> str:
    return "\n".join(str(message.get("content") or "") for message in messages)
