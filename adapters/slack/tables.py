"""The tables of slack_sdk's own SQLAlchemy OAuth stores, for our Alembic migrations.

slack_sdk defines them (slack_bots, slack_installations, slack_oauth_states); we only
let Alembic create and compare them, so the stores find them in place — with the token
columns widened for their sealed values (secrets at rest).
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, String

#: Widened by migration 0015 so that Fernet-sealed tokens fit (encrypted_store.py).
SEALED_LENGTH = 1000
SEALED = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": (
        "bot_token", "bot_refresh_token", "user_token", "user_refresh_token",
        "incoming_webhook_url",
    ),
}  # fmt: skip

BOTS = SQLAlchemyInstallationStore.default_bots_table_name
INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
OAUTH_STATES = SQLAlchemyOAuthStateStore.default_table_name


def slack_store_metadata() -> MetaData:
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS)
    SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, OAUTH_STATES)
    for table, columns in SEALED.items():
        for column in columns:
            metadata.tables[table].c[column].type = String(SEALED_LENGTH)
    return metadata
