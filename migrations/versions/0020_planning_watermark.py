"""planning watermark: per schedule, what planning already covered (plan_watermarks), and
the org's plan_generation, which database triggers bump whenever what planning reads
changes — whoever writes it (commands, admin API, sync, billing, a hand-made UPDATE)

Bumped when: a member is added, or their zone, preferred time, active flag, vacation,
pause, holiday region or holidays-off changes; a schedule's agent, weekdays, time,
participants kind or active flag changes; a participant is listed; a session is
deleted; the org's plan, trial or grace end, subscription, disabled agents or holiday
region changes. TRUNCATE of checkin_sessions (PostgreSQL) empties plan_watermarks.

SQLite runs row triggers; PostgreSQL runs statement triggers with transition tables for
inserts and deletes, row triggers with a WHEN clause for updates (an update of other
columns calls nothing), and bumps an org once a transaction (a transaction-local setting
remembers which): one bump is enough, since everything the transaction changed commits
with it, and it spares 100,000 updates of one org row (each longer to find than the
last) when a sync inserts 100,000 members one statement each. Keep these
triggers when a later migration rebuilds one of these tables on SQLite (batch mode
drops them): tests/integration/test_plan_watermark.py checks they exist at head.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 02:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)

#: table → the columns planning reads, whose change bumps the org's generation
WATCHED = {
    'members': ('timezone', 'preferred_time', 'active', 'vacation_until', 'paused_until',
                'holiday_region', 'holidays_off'),
    'schedules': ('agent_id', 'weekdays', 'local_time', 'participants', 'active'),
    'organizations': ('plan_status', 'trial_ends_at', 'grace_ends_at',
                      'stripe_subscription_id', 'disabled_agents', 'holiday_region'),
}
#: trigger → (table, event, the org of a row (NEW/OLD on SQLite, `changed` on PostgreSQL))
ROW_EVENTS = {
    'plan_member_added': ('members', 'INSERT', 'NEW.org_id', 'changed.org_id'),
    'plan_participant_listed': (
        'schedule_participants', 'INSERT',
        '(SELECT org_id FROM schedules WHERE id = NEW.schedule_id)',
        '(SELECT org_id FROM schedules WHERE id = changed.schedule_id)',
    ),
    'plan_session_deleted': ('checkin_sessions', 'DELETE', 'OLD.org_id', 'changed.org_id'),
}
BUMP = 'UPDATE organizations SET plan_generation = plan_generation + 1 WHERE id'


def _changed(table: str) -> str:
    """SQL true when a watched column of the row changed (json compared as text)."""
    def differs(name: str) -> str:
        if name == 'disabled_agents' and op.get_bind().dialect.name == 'postgresql':
            return f'OLD.{name}::text IS DISTINCT FROM NEW.{name}::text'
        return f'OLD.{name} IS DISTINCT FROM NEW.{name}'
    return ' OR '.join(differs(name) for name in WATCHED[table])


def upgrade() -> None:
    op.add_column('organizations', sa.Column('plan_generation', sa.Integer(),
                                             server_default='0', nullable=False))
    op.create_table(
        'plan_watermarks',
        sa.Column('schedule_id', Id, nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('planned_from', When, nullable=False),
        sa.Column('planned_until', When, nullable=False),
        sa.Column('next_due_at', When, nullable=False),
        sa.Column('grace_seconds', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'],
                                name=op.f('fk_plan_watermarks_schedule_id_schedules'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('schedule_id', name=op.f('pk_plan_watermarks')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_up()
    else:
        _sqlite_up()


def _sqlite_up() -> None:
    for table in ('members', 'schedules'):
        op.execute(f"""
            CREATE TRIGGER plan_{table}_changed AFTER UPDATE OF {', '.join(WATCHED[table])}
            ON {table} FOR EACH ROW WHEN {_changed(table).replace('IS DISTINCT FROM', 'IS NOT')}
            BEGIN {BUMP} = NEW.org_id; END""")
    op.execute(f"""
        CREATE TRIGGER plan_organizations_changed
        AFTER UPDATE OF {', '.join(WATCHED['organizations'])} ON organizations FOR EACH ROW
        WHEN {_changed('organizations').replace('IS DISTINCT FROM', 'IS NOT')}
        BEGIN {BUMP} = NEW.id; END""")
    for name, (table, event, org, _) in ROW_EVENTS.items():
        op.execute(f"""
            CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW
            BEGIN {BUMP} = {org}; END""")


def _postgresql_up() -> None:
    op.execute(f"""
        CREATE FUNCTION vizdots_plan_bump(org bigint) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            done text := coalesce(current_setting('vizdots.plan_bumped', true), '');
        BEGIN
            IF org IS NOT NULL AND position(',' || org || ',' IN done) = 0 THEN
                PERFORM set_config('vizdots.plan_bumped', done || ',' || org || ',', true);
                {BUMP} = org;
            END IF;
        END $$""")
    op.execute("""
        CREATE FUNCTION vizdots_plan_bump_row_org() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM vizdots_plan_bump(NEW.org_id); RETURN NULL; END $$""")
    for table in ('members', 'schedules'):
        op.execute(f"""
            CREATE TRIGGER plan_{table}_changed AFTER UPDATE OF {', '.join(WATCHED[table])}
            ON {table} FOR EACH ROW WHEN ({_changed(table)})
            EXECUTE FUNCTION vizdots_plan_bump_row_org()""")
    op.execute("""
        CREATE FUNCTION vizdots_plan_bump_own_generation() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN NEW.plan_generation := OLD.plan_generation + 1; RETURN NEW; END $$""")
    op.execute(f"""
        CREATE TRIGGER plan_organizations_changed
        BEFORE UPDATE OF {', '.join(WATCHED['organizations'])} ON organizations FOR EACH ROW
        WHEN ({_changed('organizations')}) EXECUTE FUNCTION vizdots_plan_bump_own_generation()""")
    for name, (table, event, _, org) in ROW_EVENTS.items():
        rows = 'NEW' if event == 'INSERT' else 'OLD'
        op.execute(f"""
            CREATE FUNCTION vizdots_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM vizdots_plan_bump(org) FROM (SELECT DISTINCT {org} AS org FROM changed) o;
                RETURN NULL;
            END $$""")
        op.execute(f"""
            CREATE TRIGGER {name} AFTER {event} ON {table}
            REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT
            EXECUTE FUNCTION vizdots_{name}()""")
    op.execute("""
        CREATE FUNCTION vizdots_plan_sessions_truncated() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN DELETE FROM plan_watermarks; RETURN NULL; END $$""")
    op.execute("""
        CREATE TRIGGER plan_sessions_truncated AFTER TRUNCATE ON checkin_sessions
        FOR EACH STATEMENT EXECUTE FUNCTION vizdots_plan_sessions_truncated()""")
    op.execute('ALTER TABLE plan_watermarks ENABLE ROW LEVEL SECURITY')
    op.execute("""
        CREATE POLICY org_isolation ON plan_watermarks
        USING (EXISTS (SELECT 1 FROM schedules s WHERE s.id = plan_watermarks.schedule_id))
        WITH CHECK (EXISTS (SELECT 1 FROM schedules s WHERE s.id = plan_watermarks.schedule_id))""")


def _triggers() -> dict[str, str]:
    """Every trigger of this migration and its table."""
    found = {f'plan_{table}_changed': table for table in WATCHED}
    found |= {name: table for name, (table, *_) in ROW_EVENTS.items()}
    if op.get_bind().dialect.name == 'postgresql':
        found['plan_sessions_truncated'] = 'checkin_sessions'
    return found


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    for name, table in _triggers().items():
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (f' ON {table}' if postgres else ''))
    if postgres:
        functions = ['plan_bump_row_org', 'plan_bump_own_generation', 'plan_sessions_truncated']
        for name in [*functions, *ROW_EVENTS]:
            op.execute(f'DROP FUNCTION IF EXISTS vizdots_{name}()')
        op.execute('DROP FUNCTION IF EXISTS vizdots_plan_bump(bigint)')
    op.drop_table('plan_watermarks')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('plan_generation')
