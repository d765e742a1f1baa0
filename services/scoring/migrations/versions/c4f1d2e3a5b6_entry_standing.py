"""entries keep how they stand with their decision and verification; indexes cover a month close

Revision ID: c4f1d2e3a5b6
Revises: 9489cff95325
Create Date: 2026-11-23 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c4f1d2e3a5b6'
down_revision = '9489cff95325'
branch_labels = None
depends_on = None

# The rule of `scoring.handlers._standing_query` as it was written for this revision, to fill existing rows.
_DECIDED = ("d.decision_id IS NOT NULL AND d.entry_version >= entries.version AND entries.state <> 'withdrawn'")
_VERIFIED = f"{_DECIDED} AND d.verified IS NOT NULL"
_BACKFILL = {
    "standing_state": f"CASE WHEN {_VERIFIED} THEN d.verified_state WHEN {_DECIDED} THEN d.state END",
    "standing_verified": f"CASE WHEN {_VERIFIED} THEN d.verified END",
    "standing_creditable": f"CASE WHEN {_VERIFIED} THEN COALESCE(d.verified_creditable, false) "
                           f"WHEN {_DECIDED} THEN d.creditable END",
    "standing_credited_minutes": f"CASE WHEN {_VERIFIED} THEN d.verified_credited_minutes "
                                 f"WHEN {_DECIDED} THEN d.credited_minutes END",
}
_UNDECIDED = {"standing_state": "entries.state", "standing_verified": "NULL", "standing_creditable": "false",
              "standing_credited_minutes": "entries.credited_minutes"}


def upgrade():
    with op.batch_alter_table('entries') as batch:
        batch.add_column(sa.Column('standing_state', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('standing_verified', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('standing_creditable', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('standing_credited_minutes', sa.Integer(), nullable=True))
    assignments = ", ".join(
        f"{column} = COALESCE((SELECT {rule} FROM entry_decisions d WHERE d.entry_id = entries.entry_id), "
        f"{_UNDECIDED[column]})" if column != "standing_verified" else
        f"{column} = (SELECT {rule} FROM entry_decisions d WHERE d.entry_id = entries.entry_id)"
        for column, rule in _BACKFILL.items())
    op.execute(f"UPDATE entries SET {assignments}")
    # The employee-date index also covers how entries stand, so a month close tallies them from the index alone.
    op.drop_index('ix_entries_employee_date', table_name='entries')
    op.create_index('ix_entries_employee_date', 'entries', ['employee_id', 'local_date'], unique=False,
                    postgresql_include=['standing_state', 'standing_verified', 'standing_creditable',
                                        'standing_credited_minutes'])
    op.create_index('ix_days_employee_date_scored', 'days', ['employee_id', 'local_date'], unique=False,
                    postgresql_include=['status', 'scheduled_minutes', 'overtime_minutes', 'late_band', 'early_band',
                                        'missing_clock_in', 'missing_clock_out', 'absence_kind'])


def downgrade():
    op.drop_index('ix_days_employee_date_scored', table_name='days')
    op.drop_index('ix_entries_employee_date', table_name='entries')
    op.create_index('ix_entries_employee_date', 'entries', ['employee_id', 'local_date'], unique=False)
    with op.batch_alter_table('entries') as batch:
        batch.drop_column('standing_credited_minutes')
        batch.drop_column('standing_creditable')
        batch.drop_column('standing_verified')
        batch.drop_column('standing_state')
