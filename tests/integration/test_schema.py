"""The schema: migrations reach head on both databases and match the models exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, func, insert, select
from sqlalchemy.exc import IntegrityError

from adapters.slack.tables import slack_store_metadata
from core.store import models as m
from core.store.engine import make_sync_engine
from core.store.migrate import current_revision, head_revision, upgrade_to_head


@pytest.fixture
def sync_engine(db_url: str) -> Engine:
    return make_sync_engine(db_url)


def test_migrations_take_an_empty_database_to_head(blank_db_url: str) -> None:
    assert upgrade_to_head(blank_db_url) == head_revision()


def test_migrating_twice_changes_nothing(blank_db_url: str) -> None:
    upgrade_to_head(blank_db_url)
    engine = make_sync_engine(blank_db_url)
    with engine.connect() as connection:
        agents_before = connection.execute(select(func.count()).select_from(m.Agent)).scalar()
    upgrade_to_head(blank_db_url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert (
            connection.execute(select(func.count()).select_from(m.Agent)).scalar() == agents_before
        )


def every_table() -> MetaData:
    """Our models and slack_sdk's OAuth store tables, as the migrations create them."""
    combined = MetaData()
    for metadata in (m.Base.metadata, slack_store_metadata()):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def test_models_and_migrations_have_no_drift(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, every_table()) == []


def test_global_agents_are_seeded(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        rows = connection.execute(
            select(m.Agent.slug, m.Agent.dot_keys).where(m.Agent.org_id.is_(None))
        )
        agents = {slug: keys for slug, keys in rows}
    continuity = ["blocker_status", "blocker_checkins"]  # core/continuity.py
    assert agents["daily"] == ["mood", "focus", "blockers", *continuity, "focus_review"]
    assert agents["pulse"] == ["mood", "workload", "wins", "blockers", *continuity]
    assert agents["retro"] == ["went_well", "to_improve"]


def test_timestamps_round_trip_as_utc(sync_engine: Engine) -> None:
    ends = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    with sync_engine.begin() as connection:
        connection.execute(insert(m.Organization).values(slug="a", name="A", trial_ends_at=ends))
        stored = connection.execute(select(m.Organization.trial_ends_at)).scalar_one()
    assert stored == ends and stored.utcoffset() is not None


def test_foreign_keys_are_enforced(sync_engine: Engine) -> None:
    with pytest.raises(IntegrityError), sync_engine.begin() as connection:
        connection.execute(insert(m.Member).values(org_id=999, display_name="Ghost"))
