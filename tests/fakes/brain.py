"""Brains for tests: down, buggy, logging, gated and slow."""

from __future__ import annotations

import asyncio

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


class GatedBrain(ScriptedBrain):
    """The scripted brain, whose answers wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()

    async def respond(self, given: BrainInput) -> BrainReply:
        self.asked.set()
        await self.gate.wait()
        return await super().respond(given)


class GatedOpeningBrain(GatedBrain):
    """The scripted brain, whose openings wait until the test opens the gate."""

    async def opening(self, given: BrainInput) -> BrainReply:
        self.asked.set()
        await self.gate.wait()
        return await super().opening(given)

    async def respond(self, given: BrainInput) -> BrainReply:
        return await ScriptedBrain.respond(self, given)


class CrowdBrain(ScriptedBrain):
    """The scripted brain, whose answers wait until `crowd` of them are waiting at once
    (or `patience` seconds passed): it shows how many turns wait on the model together."""

    def __init__(self, crowd: int, *, patience: float = 10.0) -> None:
        super().__init__()
        self.crowd = crowd
        self.patience = patience
        self.in_flight = 0
        self.most_in_flight = 0
        self._full = asyncio.Event()

    async def respond(self, given: BrainInput) -> BrainReply:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.in_flight >= self.crowd:
            self._full.set()
        try:
            await asyncio.wait_for(self._full.wait(), self.patience)
        except TimeoutError:
            pass
        finally:
            self.in_flight -= 1
        return await super().respond(given)
