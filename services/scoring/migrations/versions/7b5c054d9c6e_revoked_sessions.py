"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: 7b5c054d9c6e
Revises: d5e8a1b2c3f4
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op

from runtime.revocation import create_revoked_sessions_table, drop_revoked_sessions_table

revision = '7b5c054d9c6e'
down_revision = 'd5e8a1b2c3f4'
branch_labels = None
depends_on = None


def upgrade():
    create_revoked_sessions_table(op)


def downgrade():
    drop_revoked_sessions_table(op)
