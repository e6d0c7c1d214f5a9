"""Every uniqueness rule of the domain is enforced by the database itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from core.store import models as m
from core.store.engine import make_sync_engine

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
Row = tuple[Any, Callable[[dict[str, int]], dict[str, Any]]]

ROWS: dict[str, Row] = {
    "organization slug": (m.Organization, lambda w: {"slug": "acme", "name": "Acme 2"}),
    "stripe customer": (
        m.Organization,
        lambda w: {"slug": f"o{w['n']}", "name": "O", "stripe_customer_id": "cus_1"},
    ),
    "installation": (
        m.Installation,
        lambda w: {"org_id": w["org"], "provider": "slack", "external_id": "T1"},
    ),
    "member email": (
        m.Member,
        lambda w: {"org_id": w["org"], "display_name": "A", "email": "a@x.io"},
    ),
    "member slack id": (
        m.Member,
        lambda w: {"org_id": w["org"], "display_name": "A", "slack_user_id": "U1"},
    ),
    "member teams id": (
        m.Member,
        lambda w: {"org_id": w["org"], "display_name": "A", "teams_aad_object_id": "aad-1"},
    ),
    "org agent slug": (m.Agent, lambda w: _agent(slug="custom", org_id=w["org"])),
    "global agent slug": (m.Agent, lambda w: _agent(slug="daily", org_id=None)),
    "schedule per agent": (
        m.Schedule,
        lambda w: {
            "org_id": w["org"],
            "agent_id": w["agent"],
            "weekdays": 31,
            "local_time": time(9),
        },
    ),
    "session per member and local date": (
        m.CheckinSession,
        lambda w: {
            "org_id": w["org"],
            "schedule_id": w["schedule"],
            "member_id": w["member"],
            "agent_id": w["agent"],
            "local_date": date(2026, 11, 26),
            "due_at": NOW,
            "expires_at": NOW,
        },
    ),
    "on-demand session per member, agent and day": (
        m.CheckinSession,
        lambda w: {
            "org_id": w["org"],
            "schedule_id": None,
            "member_id": w["member"],
            "agent_id": w["agent"],
            "local_date": date(2026, 11, 27),
            "due_at": NOW,
            "expires_at": NOW,
        },
    ),
    "inbound event": (
        m.Message,
        lambda w: {
            "session_id": w["session"],
            "speaker": "member",
            "text": "hi",
            "inbound_event_id": "Ev1",
        },
    ),
    "dot per session": (
        m.Dot,
        lambda w: {
            "session_id": w["session"],
            "org_id": w["org"],
            "member_id": w["member"],
            "key": "mood",
        },
    ),
    "email per slot": (
        m.EmailLog,
        lambda w: {
            "org_id": w["org"],
            "session_id": w["session"],
            "member_id": w["member"],
            "kind": "reminder",
            "slot": "2026-11-26T09:00",
            "status": "sent",
        },
    ),
    "stripe event": (
        m.BillingEvent,
        lambda w: {
            "stripe_event_id": "evt_1",
            "type": "x",
            "event_created_at": NOW,
            "result": "ok",
        },
    ),
    "schedule participant": (
        m.ScheduleParticipant,
        lambda w: {"schedule_id": w["schedule"], "member_id": w["member"]},
    ),
}


def _agent(*, slug: str, org_id: int | None) -> dict[str, Any]:
    return {
        "slug": slug,
        "org_id": org_id,
        "name": slug,
        "persona": "p",
        "goal": "g",
        "questions": [],
        "dot_keys": [],
    }


def _insert(connection: Connection, model: Any, values: dict[str, Any]) -> int:
    return connection.execute(
        insert(model).values(**values).returning(*model.__table__.primary_key)
    ).scalar_one()


@pytest.fixture
def world(db_url: str) -> tuple[Engine, dict[str, int]]:
    engine = make_sync_engine(db_url)
    with engine.begin() as c:
        org = _insert(c, m.Organization, {"slug": "acme", "name": "Acme"})
        member = _insert(c, m.Member, {"org_id": org, "display_name": "M", "email": "m@x.io"})
        agent = c.execute(select(m.Agent.id).where(m.Agent.slug == "daily")).scalar_one()
        schedule = _insert(
            c, m.Schedule, {"org_id": org, "agent_id": agent, "weekdays": 1, "local_time": time(8)}
        )
        session = _insert(
            c,
            m.CheckinSession,
            {"org_id": org, "schedule_id": schedule, "member_id": member, "agent_id": agent,
             "local_date": date(2026, 11, 25), "due_at": NOW, "expires_at": NOW},
        )  # fmt: skip
    ids = {
        "org": org,
        "member": member,
        "agent": agent,
        "schedule": schedule,
        "session": session,
        "n": 0,
    }
    return engine, ids


@pytest.mark.parametrize("rule", sorted(ROWS))
def test_duplicate_is_rejected(world: tuple[Engine, dict[str, int]], rule: str) -> None:
    engine, ids = world
    model, values = ROWS[rule]
    with engine.begin() as connection:
        if rule not in {"organization slug", "global agent slug", "schedule per agent"}:
            ids["n"] = 1
            connection.execute(insert(model).values(**values(ids)))
    ids["n"] = 2
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(model).values(**values(ids)))
