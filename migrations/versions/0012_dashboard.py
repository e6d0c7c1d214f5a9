"""dashboard: single-use link records and browser sessions (hashed ids)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def _owners(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column('org_id', Id, nullable=False),
        sa.Column('member_id', Id, nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                name=op.f(f'fk_{table}_org_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f(f'fk_{table}_member_id_members'), ondelete='CASCADE'),
    ]


def upgrade() -> None:
    op.create_table(
        'dashboard_link_uses',
        sa.Column('id', Id, nullable=False),
        *_owners('dashboard_link_uses'),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('used_at', When, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_link_uses')),
        sa.UniqueConstraint('nonce', name=op.f('uq_dashboard_link_uses_nonce')),
    )
    op.create_index(op.f('ix_dashboard_link_uses_org_id'), 'dashboard_link_uses', ['org_id'])
    op.create_table(
        'dashboard_sessions',
        sa.Column('id', Id, nullable=False),
        *_owners('dashboard_sessions'),
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('expires_at', When, nullable=False),
        sa.Column('ended_at', When, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_sessions')),
        sa.UniqueConstraint('id_hash', name=op.f('uq_dashboard_sessions_id_hash')),
    )
    op.create_index(op.f('ix_dashboard_sessions_org_id'), 'dashboard_sessions', ['org_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_dashboard_sessions_org_id'), table_name='dashboard_sessions')
    op.drop_table('dashboard_sessions')
    op.drop_index(op.f('ix_dashboard_link_uses_org_id'), table_name='dashboard_link_uses')
    op.drop_table('dashboard_link_uses')
