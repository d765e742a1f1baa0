"""the outbox keeps only unsent rows: the relay deletes a row once it is sent (runtime.messaging.forget_sent_rows)

Revision ID: 73a630710e99
Revises: 1419cc518348
Create Date: 2026-12-01 13:45:00
"""
from alembic import op

from runtime.messaging import forget_sent_rows, keep_sent_rows_again


revision = '73a630710e99'
down_revision = '1419cc518348'
branch_labels = None
depends_on = None


def upgrade():
    forget_sent_rows(op)


def downgrade():
    keep_sent_rows_again(op)
