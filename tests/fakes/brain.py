"""Brains for tests: one that is down, one that has a bug."""

from __future__ import annotations

from core.ports import AiCall, BrainInput, BrainReply, BrainUnavailable
from core.scripted_brain import ScriptedBrain

FAILED_CALL = AiCall("turn", "test-model", "error", error="APIConnectionError")


class DownBrain:
    """Fails every call the way an unreachable LLM does after its retries."""

    name = "down"

    async def opening(self, given: BrainInput) -> BrainReply:
        raise BrainUnavailable("LLM unreachable", calls=(FAILED_CALL,))

    async def respond(self, given: BrainInput) -> BrainReply:
        raise BrainUnavailable("LLM unreachable", calls=(FAILED_CALL,))


class BuggyBrain(ScriptedBrain):
    """Opens fine, then crashes on the member's first answer."""

    async def respond(self, given: BrainInput) -> BrainReply:
        raise RuntimeError("a bug in the brain")


class LoggingBrain(ScriptedBrain):
    """The scripted brain, reporting one LLM call (with its prompt text) per answer."""

    async def respond(self, given: BrainInput) -> BrainReply:
        reply = await super().respond(given)
        call = AiCall("turn", "test-model", "ok", tokens_in=50, prompt_text="the member's words")
        return BrainReply(
            text=reply.text, state=reply.state, question=reply.question, done=reply.done,
            dots=reply.dots, summary=reply.summary, calls=(call,),
        )  # fmt: skip
