"""groups: the org's anonymity threshold and its week-over-week mood drop alert

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymity_threshold', sa.Integer(), server_default='5',
                                      nullable=False))
        batch_op.add_column(sa.Column('mood_drop_alert', sa.Float(), server_default='1.0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('mood_drop_alert')
        batch_op.drop_column('anonymity_threshold')
