"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: 6d32e5b63384
Revises: 73a630710e99
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = '6d32e5b63384'
down_revision = '73a630710e99'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
