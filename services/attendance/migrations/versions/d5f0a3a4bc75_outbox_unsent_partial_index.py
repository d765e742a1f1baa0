"""the outbox's unsent rows indexed alone, in id order (runtime.messaging.index_unsent_rows_only)

Revision ID: d5f0a3a4bc75
Revises: d9f2a4b6c8e0
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

from runtime.messaging import index_every_row_again, index_unsent_rows_only


revision = 'd5f0a3a4bc75'
down_revision = 'd9f2a4b6c8e0'
branch_labels = None
depends_on = None


def upgrade():
    index_unsent_rows_only(op)


def downgrade():
    index_every_row_again(op)
