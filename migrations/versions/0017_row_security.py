"""row-level security on PostgreSQL: every org-owned table answers only the rows of the
organisation named by the transaction's `app.org_id` setting (SQLite: nothing to do)

`app.org_id` is set per transaction (`set_config('app.org_id', …, true)`, i.e. SET
LOCAL) by the engine when ROW_SECURITY is on (core/store/engine.py): the organisation
of the work at hand, or 'system' for the cross-org loops (planning, delivery,
reminders, inbox claiming, billing sync). Unset or empty: no rows at all.

The policies bind roles that do not own the tables (no FORCE): the role that runs the
migrations owns them and is not bound; the service connects as another role
(docs: README, "Row-level security"). Tables keyed by another table are scoped through
it (messages by their session, schedule_participants by their schedule); global rows
(agents without org) are readable by every organisation and writable by none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VISIBLE = 'vizdots_org_visible'
#: Tables with an org_id column.
BY_ORG = (
    'admin_tokens', 'ai_logs', 'audit_log', 'billing_calls', 'billing_events',
    'billing_notices', 'checkin_sessions', 'dashboard_link_uses', 'dashboard_sessions',
    'digests', 'dots', 'email_logs', 'installations', 'members', 'outbox', 'schedules',
    'seat_syncs',
    'teams_teams',
)
#: The others: table → (USING, WITH CHECK).
BY_PARENT = {
    'organizations': (f'{VISIBLE}(id)', f'{VISIBLE}(id)'),
    'agents': (f'org_id IS NULL OR {VISIBLE}(org_id)', f'{VISIBLE}(org_id)'),
    'messages': ('EXISTS (SELECT 1 FROM checkin_sessions s WHERE s.id = messages.session_id)',) * 2,
    'schedule_participants': ('EXISTS (SELECT 1 FROM schedules s WHERE s.id = schedule_participants.schedule_id)',) * 2,
}


def _policies() -> dict[str, tuple[str, str]]:
    return {**{t: (f'{VISIBLE}(org_id)',) * 2 for t in BY_ORG}, **BY_PARENT}


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
        CREATE FUNCTION {VISIBLE}(org bigint) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT current_setting('app.org_id', true) = 'system'
                OR org = nullif(nullif(current_setting('app.org_id', true), ''), 'system')::bigint
        $$""")
    for table, (using, check) in _policies().items():
        op.execute(f'ALTER TABLE {table} ENABLE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY org_isolation ON {table} USING ({using}) WITH CHECK ({check})')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in _policies():
        op.execute(f'DROP POLICY IF EXISTS org_isolation ON {table}')
        op.execute(f'ALTER TABLE {table} DISABLE ROW LEVEL SECURITY')
    op.execute(f'DROP FUNCTION IF EXISTS {VISIBLE}(bigint)')
