"""job runs: each planning/delivery and reminders run, for /api/internal/status

Revision ID: 0019
Revises: 0012
Create Date: 2026-12-01 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'job_runs',
        sa.Column('id', Id, nullable=False),
        sa.Column('job', sa.String(length=32), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('started_at', When, nullable=False),
        sa.Column('finished_at', When, nullable=True),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    )
    op.create_index('ix_job_runs_job_started_at', 'job_runs', ['job', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_job_runs_job_started_at', table_name='job_runs')
    op.drop_table('job_runs')
