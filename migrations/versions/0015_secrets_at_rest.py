"""secrets at rest: room for Fernet-sealed tokens in slack_sdk's installation store

The token columns of slack_bots and slack_installations are widened from 200 to 1000
characters: a sealed value ("fernet:" + the Fernet token) is about 1.4 times the plain
one plus 110 characters. Existing rows are left as they are: a value without the
"fernet:" prefix is read as plain, so the service keeps working during the upgrade;
`vizdots rotate-key` (idempotent, resumable) seals them with ENCRYPTION_KEY's first
key, and every new install is saved sealed. (The migration itself has no key: keys
come from the service's settings, never from Alembic's environment.)

Downgrade narrows the columns back; on PostgreSQL it fails while a sealed value is
longer than 200 characters, rather than cutting it (the code before 0015 could not
read sealed values anyway).

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-30 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = {
    'slack_bots': ('bot_token', 'bot_refresh_token'),
    'slack_installations': ('bot_token', 'bot_refresh_token', 'user_token',
                            'user_refresh_token', 'incoming_webhook_url'),
}


def _resize(old: int, new: int) -> None:
    for table, columns in SEALED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=old),
                                      type_=sa.String(length=new), existing_nullable=True)


def upgrade() -> None:
    _resize(200, 1000)


def downgrade() -> None:
    _resize(1000, 200)
