"""audit chain: every audit record carries prev_hash and hash (runtime.audit_chain), existing rows chained

Revision ID: a7c3e9d1f2b4
Revises: df99fb37c250
Create Date: 2026-12-01 02:50:00
"""
from runtime.audit_chain import chain_existing_rows, unchain
from alembic import op


revision = 'a7c3e9d1f2b4'
down_revision = 'df99fb37c250'
branch_labels = None
depends_on = None

# The field list of the stream as this revision chains it (approvals.tables.AUDIT_STREAMS at the time).
FIELDS = ("at", "actor", "action", "entity", "entry_id", "before", "after", "changed")


def upgrade():
    chain_existing_rows(op, "approvals.audit", "audit", FIELDS, trigger="audit_append_only")


def downgrade():
    unchain(op, "audit")
