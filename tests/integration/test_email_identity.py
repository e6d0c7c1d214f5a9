"""The browser page's sender (Provider.EMAIL) resolves to its member, and only that one;
the web channel reaches only members no chat reaches, and never counts as a chat."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.web.channel import WebChannel
from core.channels import ChannelSet
from core.domain import Provider
from core.identity import email_sender, find_member
from core.inbound import Sender
from core.ports import MemberAddress
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import Member, Organization
from tests.fakes.channel import FakeChannel


async def _two_orgs(sessions: async_sessionmaker[AsyncSession]) -> tuple[Member, Member]:
    async with sessions.begin() as db:
        orgs = [Organization(slug="acme", name="Acme"), Organization(slug="globex", name="G")]
        db.add_all(orgs)
        await db.flush()
        pat = Member(org_id=orgs[0].id, display_name="Pat", email="pat@x.io")
        kim = Member(org_id=orgs[1].id, display_name="Kim", email="kim@x.io")
        db.add_all([pat, kim])
    return pat, kim


async def test_an_email_sender_names_one_member_of_one_org(db_url: str) -> None:
    engine = make_async_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        pat, kim = await _two_orgs(sessions)
        async with sessions() as db:
            found = await find_member(db, email_sender(org_id=pat.org_id, member_id=pat.id))
            assert found is not None and found[1].id == pat.id
            crossed = Sender(Provider.EMAIL, workspace=str(pat.org_id), user=str(kim.id))
            assert await find_member(db, crossed) is None
            for workspace, user in (("acme", str(pat.id)), (str(pat.org_id), "pat@x.io")):
                assert await find_member(db, Sender(Provider.EMAIL, workspace, user)) is None
    finally:
        await engine.dispose()


async def test_the_web_channel_reaches_only_members_no_chat_reaches() -> None:
    web = WebChannel()
    email_only = MemberAddress(1, 1, "Pat", email="pat@x.io")
    in_slack = MemberAddress(2, 1, "Kim", email="kim@x.io", slack_user_id="U2")
    blocked = MemberAddress(3, 1, "Lee", email="lee@x.io", teams_conversation_ref={"a": 1},
                            teams_unreachable=True)  # fmt: skip
    in_teams = MemberAddress(4, 1, "Ola", email="ola@x.io", teams_conversation_ref={"a": 1})
    no_address = MemberAddress(5, 1, "Ray")
    reach = [await web.can_reach(a) for a in (email_only, in_slack, blocked, in_teams, no_address)]
    assert reach == [True, False, True, False, False]

    channels = ChannelSet([FakeChannel(reachable=False), web])
    assert await channels.for_member(email_only) is not None
    assert await channels.chat_for(email_only) is None  # the page is not a chat: email path
