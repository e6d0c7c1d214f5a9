"""Schema upgrades and the head check used by /readyz."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

import migrations
from core.store.engine import make_sync_engine
from core.store.seed import seed_global_agents

MIGRATIONS = Path(migrations.__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(database_url: str) -> str | None:
    """Upgrade the schema and seed the global agents; a second run changes nothing."""
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            seed_global_agents(connection)
            return current_revision(connection)
    finally:
        engine.dispose()


def migrate_to(database_url: str, revision: str) -> str | None:
    """Upgrade, or downgrade, the schema to `revision` ("head", "base" or an id): a
    rollback runs the downgrades of every revision above it (the application that needs
    the newer schema must be rolled back first). Returns the revision reached."""
    if revision == "head":
        return upgrade_to_head(database_url)
    scripts = ScriptDirectory.from_config(alembic_config())
    if revision != "base":
        scripts.get_revision(revision)  # an unknown id raises alembic's CommandError
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            current = current_revision(connection)
            below = revision == "base" or _is_below(scripts, revision, current)
            if below:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
                seed_global_agents(connection)
            return current_revision(connection)
    finally:
        engine.dispose()


def _is_below(scripts: ScriptDirectory, revision: str, current: str | None) -> bool:
    """Whether `revision` is an ancestor of (or equal to) `current`."""
    if current is None:
        return False
    return any(step.revision == revision for step in scripts.walk_revisions("base", current))
