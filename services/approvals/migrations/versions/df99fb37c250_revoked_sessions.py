"""revoked sessions: access tokens of a signed-out session are refused before they expire

Revision ID: df99fb37c250
Revises: 3120c5d947e5
Create Date: 2026-11-30 21:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'df99fb37c250'
down_revision = '3120c5d947e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('revoked_sessions',
                    sa.Column('sid', sa.String(length=64), nullable=False),
                    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('sid'))
    op.create_index(op.f('ix_revoked_sessions_expires_at'), 'revoked_sessions', ['expires_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_revoked_sessions_expires_at'), table_name='revoked_sessions')
    op.drop_table('revoked_sessions')
