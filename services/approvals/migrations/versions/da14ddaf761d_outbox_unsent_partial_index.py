"""the outbox's unsent rows indexed alone, in id order (runtime.messaging.index_unsent_rows_only)

Revision ID: da14ddaf761d
Revises: a7c3e9d1f2b4
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

from runtime.messaging import index_every_row_again, index_unsent_rows_only


revision = 'da14ddaf761d'
down_revision = 'a7c3e9d1f2b4'
branch_labels = None
depends_on = None


def upgrade():
    index_unsent_rows_only(op)


def downgrade():
    index_every_row_again(op)
