"""the outbox keeps only unsent rows: the relay deletes a row once it is sent (runtime.messaging.forget_sent_rows)

Revision ID: eae47a2c8c29
Revises: 78263ed1140e
Create Date: 2026-12-01 13:45:00
"""
from alembic import op

from runtime.messaging import forget_sent_rows, keep_sent_rows_again


revision = 'eae47a2c8c29'
down_revision = '78263ed1140e'
branch_labels = None
depends_on = None


def upgrade():
    forget_sent_rows(op)


def downgrade():
    keep_sent_rows_again(op)
