"""reminders: email-only members, reminder recovery points

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_only', sa.Boolean(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('checkin_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_version', sa.Integer(), nullable=True))
    with op.batch_alter_table('email_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('email_logs', schema=None) as batch_op:
        batch_op.drop_column('attempted_at')
    with op.batch_alter_table('checkin_sessions', schema=None) as batch_op:
        batch_op.drop_column('reminded_version')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('email_only')
