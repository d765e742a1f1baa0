"""the outbox's event ids no longer unique (runtime.messaging.unindex_event_ids)

Revision ID: 90ddb7a7f6c7
Revises: 04662978b44e
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from runtime.messaging import index_event_ids_again, unindex_event_ids


revision = '90ddb7a7f6c7'
down_revision = '04662978b44e'
branch_labels = None
depends_on = None


def upgrade():
    unindex_event_ids(op)


def downgrade():
    index_event_ids_again(op)
