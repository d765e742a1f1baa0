"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: b5a341c9cb04
Revises: c9e2f5a1b7d4
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op

from runtime.revocation import create_revoked_sessions_table, drop_revoked_sessions_table

revision = 'b5a341c9cb04'
down_revision = 'c9e2f5a1b7d4'
branch_labels = None
depends_on = None


def upgrade():
    create_revoked_sessions_table(op)


def downgrade():
    drop_revoked_sessions_table(op)
