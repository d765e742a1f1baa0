"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: 049e8e38f823
Revises: 52bacb8f8478
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = '049e8e38f823'
down_revision = '52bacb8f8478'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
