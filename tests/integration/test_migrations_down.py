"""Migrations go down as well as up: head → base → head on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from core.store.engine import make_sync_engine
from core.store.migrate import alembic_config, current_revision, head_revision, upgrade_to_head


def migrate(database_url: str, revision: str, *, down: bool = False) -> None:
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            if down:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
    finally:
        engine.dispose()


def tables(database_url: str) -> set[str]:
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_downgrading_to_base_leaves_no_table(blank_db_url: str) -> None:
    upgrade_to_head(blank_db_url)
    migrate(blank_db_url, "base", down=True)
    assert tables(blank_db_url) == set()


def test_a_downgraded_database_upgrades_to_head_again(blank_db_url: str) -> None:
    upgrade_to_head(blank_db_url)
    migrate(blank_db_url, "base", down=True)
    assert upgrade_to_head(blank_db_url) == head_revision()
    engine = make_sync_engine(blank_db_url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()


def test_each_step_goes_down_and_up_again(blank_db_url: str) -> None:
    upgrade_to_head(blank_db_url)
    at_head = tables(blank_db_url)
    migrate(blank_db_url, "-1", down=True)
    migrate(blank_db_url, "head")
    assert tables(blank_db_url) == at_head
