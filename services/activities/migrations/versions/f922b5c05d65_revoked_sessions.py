"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: f922b5c05d65
Revises: 5fa0451a99fb
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op

from runtime.revocation import create_revoked_sessions_table, drop_revoked_sessions_table

revision = 'f922b5c05d65'
down_revision = '5fa0451a99fb'
branch_labels = None
depends_on = None


def upgrade():
    create_revoked_sessions_table(op)


def downgrade():
    drop_revoked_sessions_table(op)
