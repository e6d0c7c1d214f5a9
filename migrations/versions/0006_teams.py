"""teams: members unreachable in Teams; message id columns wide enough for Teams ids

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column) whose ids come from Teams: activity ids are longer than Slack's.
_WIDENED = (("messages", "channel_message_id"), ("outbox", "channel_message_id"),
            ("inbound_events", "message_id"))


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('teams_unreachable', sa.Boolean(), server_default='0',
                                      nullable=False))
    for table, column in _WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=128),
                                  type_=sa.String(length=255), existing_nullable=True)


def downgrade() -> None:
    for table, column in _WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=255),
                                  type_=sa.String(length=128), existing_nullable=True)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('teams_unreachable')
