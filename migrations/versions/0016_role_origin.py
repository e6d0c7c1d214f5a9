"""members.role_source: where a member's role came from ('workspace' follows the chat
directory at every sync, 'vizdots' was granted in VizDots and stays).

Existing rows: a member whose role was changed through the admin API (an audit_log
'member.role' entry) is marked 'vizdots'; the others stay NULL until the next sync,
which marks an admin the directory does not list as one 'vizdots' (nobody loses a role
by this upgrade) and the rest 'workspace'.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_audit = sa.table(
    'audit_log', sa.column('action', sa.String()), sa.column('detail', sa.JSON())
)
_members = sa.table(
    'members', sa.column('id', sa.Integer()), sa.column('role_source', sa.String())
)


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role_source', sa.String(length=16), nullable=True))
    connection = op.get_bind()
    changed = connection.execute(
        sa.select(_audit.c.detail).where(_audit.c.action == 'member.role')
    )
    ids = {int(d['member_id']) for (d,) in changed if isinstance(d, dict) and d.get('member_id')}
    if ids:
        connection.execute(
            _members.update().where(_members.c.id.in_(ids)).values(role_source='vizdots')
        )


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('role_source')
