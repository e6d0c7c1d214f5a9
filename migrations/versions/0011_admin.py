"""admin API: per-org admin tokens (hashed), the token behind an audited change, and
members whose personal data was erased (anonymous tombstones)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'admin_tokens',
        sa.Column('id', Id, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('public_id', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                name=op.f('fk_admin_tokens_org_id_organizations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_tokens')),
        sa.UniqueConstraint('public_id', name=op.f('uq_admin_tokens_public_id')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_admin_tokens_token_hash')),
    )
    op.create_index(op.f('ix_admin_tokens_org_id'), 'admin_tokens', ['org_id'], unique=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_token_id', Id, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_log_actor_token_id_admin_tokens'),
                                    'admin_tokens', ['actor_token_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_log_actor_token_id_admin_tokens'),
                                 type_='foreignkey')
        batch_op.drop_column('actor_token_id')
    op.drop_index(op.f('ix_admin_tokens_org_id'), table_name='admin_tokens')
    op.drop_table('admin_tokens')
