"""the days' primary key covers what a month's score reads; its second index of the same key dropped

Revision ID: f7b2c4d6e8a1
Revises: 90ddb7a7f6c7
Create Date: 2026-12-02 04:20:00
"""
from alembic import op

revision = 'f7b2c4d6e8a1'
down_revision = '90ddb7a7f6c7'
branch_labels = None
depends_on = None

# As `scoring.tables.DAY_SCORED` at this revision (a migration keeps its own copy).
_SCORED = ("status", "scheduled_minutes", "overtime_minutes", "late_band", "early_band", "missing_clock_in",
           "missing_clock_out", "absence_kind")


def _key(include: tuple[str, ...]) -> None:
    """Rebuild the days' primary key (PostgreSQL: SQLite's key includes nothing, and keeps its own)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    covering = f" INCLUDE ({', '.join(include)})" if include else ""
    op.execute("ALTER TABLE days DROP CONSTRAINT days_pkey, "
               f"ADD CONSTRAINT days_pkey PRIMARY KEY (employee_id, local_date){covering}")


def upgrade():
    _key(_SCORED)
    op.drop_index('ix_days_employee_date_scored', table_name='days')


def downgrade():
    op.create_index('ix_days_employee_date_scored', 'days', ['employee_id', 'local_date'], unique=False,
                    postgresql_include=list(_SCORED))
    _key(())
