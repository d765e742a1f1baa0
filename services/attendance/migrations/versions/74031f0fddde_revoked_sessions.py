"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: 74031f0fddde
Revises: b7e2c4d91a05
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op

from runtime.revocation import create_revoked_sessions_table, drop_revoked_sessions_table

revision = '74031f0fddde'
down_revision = 'b7e2c4d91a05'
branch_labels = None
depends_on = None


def upgrade():
    create_revoked_sessions_table(op)


def downgrade():
    drop_revoked_sessions_table(op)
