"""digests: each schedule's team digest per local date, recorded before it is posted

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'digests',
        sa.Column('id', Id, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('schedule_id', Id, nullable=False),
        sa.Column('local_date', sa.Date(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('provider', sa.String(length=16), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', When, nullable=False),
        sa.Column('claimed_at', When, nullable=True),
        sa.Column('in_doubt', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('posted_at', When, nullable=True),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                name=op.f('fk_digests_org_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'],
                                name=op.f('fk_digests_schedule_id_schedules'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
        sa.UniqueConstraint('key', name=op.f('uq_digests_key')),
        sa.UniqueConstraint('schedule_id', 'local_date',
                            name=op.f('uq_digests_schedule_id_local_date')),
    )
    op.create_index('ix_digests_due', 'digests', ['state', 'next_attempt_at'])
    op.create_index(op.f('ix_digests_org_id'), 'digests', ['org_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_digests_org_id'), table_name='digests')
    op.drop_index('ix_digests_due', table_name='digests')
    op.drop_table('digests')
