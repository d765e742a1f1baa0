"""the outbox's unsent rows indexed alone, in id order (runtime.messaging.index_unsent_rows_only)

Revision ID: 3845ad2b597a
Revises: b8d4f0e2a3c5
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

from runtime.messaging import index_every_row_again, index_unsent_rows_only


revision = '3845ad2b597a'
down_revision = 'b8d4f0e2a3c5'
branch_labels = None
depends_on = None


def upgrade():
    index_unsent_rows_only(op)


def downgrade():
    index_every_row_again(op)
