"""sign-in audit chain: audit_log records carry prev_hash and hash (runtime.audit_chain); append-only trigger

Revision ID: b8d4f0e2a3c5
Revises: 111f22c269f3
Create Date: 2026-12-01 02:50:00
"""
from runtime.audit_chain import chain_existing_rows, create_append_only_trigger, drop_append_only_trigger, unchain
from alembic import op


revision = 'b8d4f0e2a3c5'
down_revision = '111f22c269f3'
branch_labels = None
depends_on = None

# The field list of the stream as this revision chains it (identity.tables.AUDIT_STREAMS at the time).
FIELDS = ("at", "event", "nip", "actor", "remote_addr", "detail")


def upgrade():
    chain_existing_rows(op, "identity.audit_log", "audit_log", FIELDS)
    create_append_only_trigger(op, "audit_log")


def downgrade():
    drop_append_only_trigger(op, "audit_log")
    unchain(op, "audit_log")
