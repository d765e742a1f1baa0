"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: cc6c18c16401
Revises: 6553fc3ec1ae
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = 'cc6c18c16401'
down_revision = '6553fc3ec1ae'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
