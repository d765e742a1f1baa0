"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: 25f3991a8ccf
Revises: 3c0c120048bb
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = '25f3991a8ccf'
down_revision = '3c0c120048bb'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
