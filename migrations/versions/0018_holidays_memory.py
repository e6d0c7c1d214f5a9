"""holidays and memory: the org's and each member's public-holiday region, and when a
member last said `forget` (check-ins completed before it are not recalled)

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holiday_region', sa.String(length=16), nullable=True))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holiday_region', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('holidays_off', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('memory_cleared_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('memory_cleared_at')
        batch_op.drop_column('holidays_off')
        batch_op.drop_column('holiday_region')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('holiday_region')
