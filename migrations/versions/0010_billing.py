"""billing: grace and period end on organizations, billing notices, Stripe call intents,
coalesced seat syncs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                   name=op.f(f'fk_{table}_org_id_organizations'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grace_ends_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('current_period_end', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        'billing_notices',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('org_id', ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        _org_fk('billing_notices'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_billing_notices')),
    )
    op.create_index(op.f('ix_billing_notices_org_id'), 'billing_notices', ['org_id'])
    op.create_table(
        'billing_calls',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('org_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('result', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        _org_fk('billing_calls'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_billing_calls')),
    )
    op.create_index(op.f('ix_billing_calls_org_id'), 'billing_calls', ['org_id'])
    op.create_table(
        'seat_syncs',
        sa.Column('org_id', ID, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        _org_fk('seat_syncs'),
        sa.PrimaryKeyConstraint('org_id', name=op.f('pk_seat_syncs')),
    )


def downgrade() -> None:
    op.drop_table('seat_syncs')
    op.drop_index(op.f('ix_billing_calls_org_id'), table_name='billing_calls')
    op.drop_table('billing_calls')
    op.drop_index(op.f('ix_billing_notices_org_id'), table_name='billing_notices')
    op.drop_table('billing_notices')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('current_period_end')
        batch_op.drop_column('grace_ends_at')
