"""the outbox keeps only unsent rows: the relay deletes a row once it is sent (runtime.messaging.forget_sent_rows)

Revision ID: 6553fc3ec1ae
Revises: da14ddaf761d
Create Date: 2026-12-01 13:45:00
"""
from alembic import op

from runtime.messaging import forget_sent_rows, keep_sent_rows_again


revision = '6553fc3ec1ae'
down_revision = 'da14ddaf761d'
branch_labels = None
depends_on = None


def upgrade():
    forget_sent_rows(op)


def downgrade():
    keep_sent_rows_again(op)
