"""The composition root: builds every service once from Settings and passes it in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta

from core.commands.service import run_command
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from core.channels import ChannelSet
from core.conversation import Conversations
from core.delivery import Delivery
from core.inbound import CommandRequest
from core.ports import Brain, Channel, Clock, MemberDirectory, SystemClock
from core.scripted_brain import FallbackBrain, ScriptedBrain
from core.store.engine import make_async_engine, make_sessionmaker

log = logging.getLogger("vizdots")


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    brain: Brain
    channels: ChannelSet
    delivery: Delivery
    conversations: Conversations
    directory: MemberDirectory | None = None
    #: Run planning and delivery every minute inside the web process.
    loop_interval: float | None = 60.0
    _closers: list[object] = field(default_factory=list)

    @property
    def dev_chat(self) -> bool:
        """The local dev chat is the channel when no real chat is configured."""
        return not (self.settings.integrations()["slack"] or self.settings.integrations()["teams"])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start background work for the app's lifetime; release everything after."""
        from bot.worker import run_forever

        task = asyncio.create_task(run_forever(self)) if self.loop_interval else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await self.close()

    async def run_command(self, request: CommandRequest) -> str:
        reply = await run_command(
            sessions=self.sessions, request=request, directory=self.directory, clock=self.clock
        )
        return reply.text

    async def close(self) -> None:
        close = getattr(self.brain, "close", None)
        if close is not None:
            await close()
        await self.engine.dispose()


def build_brain(settings: Settings) -> Brain:
    """OpenAI when a key is set (falling back to the scripted brain), else scripted."""
    if settings.openai_api_key is None:
        return ScriptedBrain()
    from adapters.llm.openai_brain import OpenAIBrain

    primary = OpenAIBrain(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.openai_model,
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout_seconds=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
        include_text=True,  # kept in ai_logs only for orgs that opted in
    )
    return FallbackBrain(primary=primary, fallback=ScriptedBrain())


def build_channels(settings: Settings) -> list[Channel]:
    from adapters.dev.channel import DevChannel

    return [DevChannel()]


def build_services(
    settings: Settings, *, clock: Clock | None = None, loop_interval: float | None = 60.0
) -> Services:
    engine = make_async_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    clock = clock or SystemClock()
    brain = build_brain(settings)
    channels = ChannelSet(build_channels(settings))
    grace = timedelta(hours=settings.session_grace_hours)
    delivery = Delivery(sessions=sessions, brain=brain, channels=channels, clock=clock, grace=grace)
    conversations = Conversations(
        sessions=sessions, brain=brain, channels=channels, clock=clock, delivery=delivery
    )
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        brain=brain,
        channels=channels,
        delivery=delivery,
        conversations=conversations,
        loop_interval=loop_interval,
    )
