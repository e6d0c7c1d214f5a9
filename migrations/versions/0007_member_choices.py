"""member choices (a time zone set by the member, the chat they are reached in); the Teams
teams the bot was added to (their rosters are what `members sync` reads in Teams)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone_chosen', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('preferred_chat', sa.String(length=16), nullable=True))
    op.create_table('teams_teams',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.String(length=128), nullable=False),
    sa.Column('team_id', sa.String(length=255), nullable=False),
    sa.Column('service_url', sa.String(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_teams_teams_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams_teams')),
    sa.UniqueConstraint('tenant_id', 'team_id', name=op.f('uq_teams_teams_tenant_id_team_id'))
    )
    with op.batch_alter_table('teams_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_teams_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('teams_teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_teams_org_id'))
    op.drop_table('teams_teams')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('preferred_chat')
        batch_op.drop_column('timezone_chosen')
