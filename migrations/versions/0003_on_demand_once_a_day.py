"""one on-demand check-in per member, agent and day

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 00:08:04.088693
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    with op.batch_alter_table('checkin_sessions', schema=None) as batch_op:
        batch_op.create_index('uq_checkin_sessions_on_demand', ['member_id', 'agent_id', 'local_date'], unique=True, sqlite_where=sa.text('schedule_id IS NULL'), postgresql_where=sa.text('schedule_id IS NULL'))

    


def downgrade() -> None:
    
    with op.batch_alter_table('checkin_sessions', schema=None) as batch_op:
        batch_op.drop_index('uq_checkin_sessions_on_demand', sqlite_where=sa.text('schedule_id IS NULL'), postgresql_where=sa.text('schedule_id IS NULL'))

    
