"""What VizDots keeps of one model call (core's AiCall): purpose, tokens (cached ones
too), latency, outcome and request id, and the prompt only when the brain was built to
include texts. One record for every caller (the brain, the digest summariser)."""

from __future__ import annotations

import time

import openai
from openai.types.chat import ChatCompletion

from adapters.llm.prompts import Messages
from core.ports import AiCall


def recorded_call(
    *,
    purpose: str,
    model: str,
    messages: Messages,
    started: float,
    include_text: bool,
    response: ChatCompletion | None = None,
    error: openai.APIError | None = None,
    problem: str | None = None,
) -> AiCall:
    """The call that began at `started` (time.perf_counter) and ended in `response` (read
    with `problem`, if any) or `error`."""
    usage = response.usage if response is not None else None
    details = usage.prompt_tokens_details if usage is not None else None
    return AiCall(
        purpose=purpose,
        model=model,
        outcome="error" if error is not None else "invalid" if problem else "ok",
        tokens_in=usage.prompt_tokens if usage else 0,
        tokens_out=usage.completion_tokens if usage else 0,
        cached_tokens=(details.cached_tokens or 0) if details else 0,
        latency_ms=round((time.perf_counter() - started) * 1000),
        error=type(error).__name__ if error is not None else problem,
        request_id=response._request_id if response else getattr(error, "request_id", None),
        prompt_text=_as_text(messages) if include_text else None,
    )


def _as_text(messages: Messages) -> str:
    return "\n\n".join(f"[{m['role']}]\n{m.get('content')}" for m in messages)
