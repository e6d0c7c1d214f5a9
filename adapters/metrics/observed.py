"""The brain and the mailer, counted: each wraps the port it measures and forwards
everything else (a brain's `close`, SES's `start`) to the object it wraps."""

from __future__ import annotations

from typing import Any

from adapters.metrics.signals import AppMetrics
from core.ports import Brain, BrainInput, BrainReply, BrainUnavailable, Email, Mailer


class ObservedBrain:
    """Every LLM call a reply carries (failed attempts included) counted and timed."""

    def __init__(self, brain: Brain, metrics: AppMetrics) -> None:
        self.inner = brain
        self.name = brain.name
        self.metrics = metrics

    async def opening(self, given: BrainInput) -> BrainReply:
        return self._observed(await self._ask(self.inner.opening, given))

    async def respond(self, given: BrainInput) -> BrainReply:
        return self._observed(await self._ask(self.inner.respond, given))

    async def _ask(self, ask: Any, given: BrainInput) -> BrainReply:
        try:
            reply: BrainReply = await ask(given)
        except BrainUnavailable as failure:
            for call in failure.calls:
                self.metrics.ai_call(call)
            raise
        return reply

    def _observed(self, reply: BrainReply) -> BrainReply:
        for call in reply.calls:
            self.metrics.ai_call(call)
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ObservedMailer:
    """Emails counted by outcome: sent, or failed."""

    def __init__(self, mailer: Mailer, metrics: AppMetrics) -> None:
        self.inner = mailer
        self.metrics = metrics

    async def send(self, email: Email) -> str:
        try:
            message_id = await self.inner.send(email)
        except Exception:  # DeliveryError, or anything the mailer let through
            self.metrics.email(outcome="failed")
            raise
        self.metrics.email(outcome="sent")
        return message_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
