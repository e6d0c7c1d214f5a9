"""What the conversation engine says at the edges the surviving mutants of core/ showed
untested (see docs/mutation.md).

Ana (Europe/Berlin) at Acme; the clock says Wednesday 2026-11-25, 09:00 UTC.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from core.domain import Provider
from core.inbound import Sender
from core.scripted_brain import ScriptedBrain
from tests.fakes.world import add_member, add_org
from tests.integration.test_conversation import ANA, build

SENDER = Sender(Provider.DEV, "acme", ANA)


async def test_a_member_whose_message_is_given_up_is_told_in_their_language(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin", language="de")
    await world.conversations.could_not_process(SENDER, event_id="Ev1")
    [notice] = world.channel.texts_to(1)
    assert notice.startswith("Sorry, ich konnte deine letzte Nachricht nicht verarbeiten.")
