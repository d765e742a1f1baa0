"""the outbox's unsent rows indexed alone, in id order (runtime.messaging.index_unsent_rows_only)

Revision ID: 1419cc518348
Revises: c9f5a1b3d4e6
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

from runtime.messaging import index_every_row_again, index_unsent_rows_only


revision = '1419cc518348'
down_revision = 'c9f5a1b3d4e6'
branch_labels = None
depends_on = None


def upgrade():
    index_unsent_rows_only(op)


def downgrade():
    index_every_row_again(op)
