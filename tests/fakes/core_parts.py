"""Core's services wired over fakes, as bot.bootstrap wires them over real adapters:
what the engine-level test worlds (conversation, reminders) share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.channels import ChannelSet
from core.conversation import Conversations
from core.delivery import Delivery
from core.outbox import Outbox
from core.ports import Brain, Channel
from core.store.engine import make_sessionmaker
from tests.fakes.clock import FakeClock


@dataclass
class CoreParts:
    sessions: async_sessionmaker[AsyncSession]
    channels: ChannelSet
    outbox: Outbox
    delivery: Delivery
    conversations: Conversations


def core_parts(engine: AsyncEngine, brain: Brain, channel: Channel, clock: FakeClock) -> CoreParts:
    sessions = make_sessionmaker(engine)
    channels = ChannelSet([channel])
    outbox = Outbox(sessions=sessions, channels=channels, clock=clock)
    delivery = Delivery(
        sessions=sessions,
        brain=brain,
        channels=channels,
        clock=clock,
        grace=timedelta(hours=2),
        outbox=outbox,
    )
    conversations = Conversations(
        sessions=sessions,
        brain=brain,
        channels=channels,
        clock=clock,
        delivery=delivery,
        outbox=outbox,
    )
    return CoreParts(sessions, channels, outbox, delivery, conversations)
