"""Which chat reaches a member: Slack first, unless the member chose the other chat
(`reach me in teams`), falling back to whichever reaches them."""

from __future__ import annotations

import pytest

from core.channels import ChannelSet
from core.domain import Provider
from core.ports import MemberAddress
from core.records import address_of
from core.store.models import Member
from tests.fakes.channel import FakeChannel


def chats(*, slack: bool = True, teams: bool = True) -> ChannelSet:
    return ChannelSet(
        [
            FakeChannel(provider=Provider.SLACK, reachable=slack),
            FakeChannel(provider=Provider.TEAMS, reachable=teams),
        ]
    )


def member(preferred: str | None) -> MemberAddress:
    row = Member(id=7, org_id=1, display_name="Bo", preferred_chat=preferred,
                 teams_unreachable=False)  # fmt: skip
    return address_of(row)


async def reached(channels: ChannelSet, to: MemberAddress) -> Provider | None:
    channel = await channels.for_member(to)
    return channel.provider if channel else None


@pytest.mark.parametrize(
    ("preferred", "slack", "teams", "expected"),
    [
        (None, True, True, Provider.SLACK),
        ("slack", True, True, Provider.SLACK),
        ("teams", True, True, Provider.TEAMS),
        ("teams", True, False, Provider.SLACK),  # the chosen chat cannot reach: the other
        ("slack", False, True, Provider.TEAMS),
        (None, False, True, Provider.TEAMS),
        ("teams", False, False, None),
    ],
)
async def test_a_member_in_both_chats_is_reached_in_one(
    preferred: str | None, slack: bool, teams: bool, expected: Provider | None
) -> None:
    assert await reached(chats(slack=slack, teams=teams), member(preferred)) is expected


async def test_a_choice_of_a_chat_the_deployment_lacks_falls_back() -> None:
    only_slack = ChannelSet([FakeChannel(provider=Provider.SLACK)])
    assert await reached(only_slack, member("teams")) is Provider.SLACK
