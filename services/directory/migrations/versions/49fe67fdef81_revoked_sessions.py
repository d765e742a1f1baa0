"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: 49fe67fdef81
Revises: e1f2a3b4c5d6
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op

from runtime.revocation import create_revoked_sessions_table, drop_revoked_sessions_table

revision = '49fe67fdef81'
down_revision = 'e1f2a3b4c5d6'
branch_labels = None
depends_on = None


def upgrade():
    create_revoked_sessions_table(op)


def downgrade():
    drop_revoked_sessions_table(op)
