"""Turning stored rows into the plain values the ports speak."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain import AgentSpec, Provider, Question
from core.ports import MemberAddress
from core.store.models import Agent, Member


def agent_spec(row: Agent) -> AgentSpec:
    return AgentSpec(
        slug=row.slug,
        name=row.name,
        persona=row.persona,
        goal=row.goal,
        questions=tuple(Question.from_json(q) for q in row.questions),
        max_follow_ups=row.max_follow_ups,
        dot_keys=tuple(row.dot_keys),
    )


def address_of(member: Member) -> MemberAddress:
    return MemberAddress(
        member_id=member.id,
        org_id=member.org_id,
        display_name=member.display_name,
        slack_user_id=member.slack_user_id,
        slack_dm_channel_id=member.slack_dm_channel_id,
        teams_conversation_ref=member.teams_conversation_ref,
        teams_unreachable=bool(member.teams_unreachable),
        email=member.email,
        email_only=bool(member.email_only),
        preferred_chat=Provider(member.preferred_chat) if member.preferred_chat else None,
    )


def pending_question(agent: AgentSpec, brain_state: Mapping[str, Any]) -> Question | None:
    """The plan question the session is waiting on, if any (None during a free follow-up)."""
    key = brain_state.get("pending")
    return next((q for q in agent.questions if q.key == key), None)
