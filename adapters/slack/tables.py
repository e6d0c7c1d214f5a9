"""The tables of slack_sdk's own SQLAlchemy OAuth stores, for our Alembic migrations.

slack_sdk defines them (slack_bots, slack_installations, slack_oauth_states); we only
let Alembic create and compare them, so the stores find them in place.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

BOTS = SQLAlchemyInstallationStore.default_bots_table_name
INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
OAUTH_STATES = SQLAlchemyOAuthStateStore.default_table_name


def slack_store_metadata() -> MetaData:
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS)
    SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, OAUTH_STATES)
    return metadata
