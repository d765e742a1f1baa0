"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: 2d35c0845af3
Revises: eae47a2c8c29
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = '2d35c0845af3'
down_revision = 'eae47a2c8c29'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
