"""member choices: a time zone the member set themselves, the chat they are reached in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone_chosen', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('preferred_chat', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('preferred_chat')
        batch_op.drop_column('timezone_chosen')
