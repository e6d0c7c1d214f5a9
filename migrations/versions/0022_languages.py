"""languages: the org's default language and each member's own

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-01 02:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | Sequence[str] | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en',
                                      nullable=False))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN (SQLite 3.35+ too): a batch rebuild on SQLite would drop the
    # planning triggers of members and organizations (migration 0020).
    op.execute('ALTER TABLE members DROP COLUMN language')
    op.execute('ALTER TABLE organizations DROP COLUMN language')
