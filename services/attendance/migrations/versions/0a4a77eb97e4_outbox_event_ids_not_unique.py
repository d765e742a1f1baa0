"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: 0a4a77eb97e4
Revises: adbabe8758dd
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = '0a4a77eb97e4'
down_revision = 'adbabe8758dd'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
