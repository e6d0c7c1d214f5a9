"""durable inbox of inbound events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 00:24:34.310384
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('workspace', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=320), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=True),
    sa.Column('choice', sa.String(length=200), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_inbound_events_event_id'))
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_events_pending', ['processed_at', 'received_at'], unique=False)
        batch_op.create_index('ix_inbound_events_sender', ['provider', 'workspace', 'user_id', 'processed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_sender')
        batch_op.drop_index('ix_inbound_events_pending')

    op.drop_table('inbound_events')
