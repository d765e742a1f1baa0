"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: df99fb37c250
Revises: 3120c5d947e5
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op

from runtime.revocation import create_revoked_sessions_table, drop_revoked_sessions_table

revision = 'df99fb37c250'
down_revision = '3120c5d947e5'
branch_labels = None
depends_on = None


def upgrade():
    create_revoked_sessions_table(op)


def downgrade():
    drop_revoked_sessions_table(op)
