"""the outbox's unsent rows indexed alone, in id order (runtime.messaging.index_unsent_rows_only)

Revision ID: 2e4eff648eaf
Revises: e6a9b3c5d7f1
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

from runtime.messaging import index_every_row_again, index_unsent_rows_only


revision = '2e4eff648eaf'
down_revision = 'e6a9b3c5d7f1'
branch_labels = None
depends_on = None


def upgrade():
    index_unsent_rows_only(op)


def downgrade():
    index_every_row_again(op)
