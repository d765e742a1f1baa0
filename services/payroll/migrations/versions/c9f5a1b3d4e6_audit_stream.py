"""payroll audit stream: each approval and payment of a run with its content hash, hash-chained, append-only

Revision ID: c9f5a1b3d4e6
Revises: d4a8c1e6f2b9
Create Date: 2026-12-01 02:50:00
"""
from alembic import op
import sqlalchemy as sa

from runtime.audit_chain import AuditStream, append, create_append_only_trigger, drop_append_only_trigger


revision = 'c9f5a1b3d4e6'
down_revision = 'd4a8c1e6f2b9'
branch_labels = None
depends_on = None

FIELDS = ("at", "actor", "action", "run_id", "organisation", "year", "month", "employees", "gross_total",
          "net_total", "content_hash")


def upgrade():
    audit = op.create_table('audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=18), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('employees', sa.Integer(), nullable=False),
    sa.Column('gross_total', sa.BigInteger(), nullable=False),
    sa.Column('net_total', sa.BigInteger(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq', name='uq_audit_seq'))
    op.create_index(op.f('ix_audit_run_id'), 'audit', ['run_id'], unique=False)
    create_append_only_trigger(op, "audit")
    # Runs approved before this stream existed enter it now, in approval order, as they stand today.
    from sqlalchemy.orm import Session
    session = Session(bind=op.get_bind())
    stream = AuditStream("payroll.audit", audit, FIELDS)
    runs = sa.Table("runs", sa.MetaData(), autoload_with=op.get_bind())
    approved = sa.select(runs).where(runs.c.approved_at.is_not(None)).order_by(runs.c.approved_at, runs.c.run_id)
    for row in op.get_bind().execute(approved).all():
        append(session, stream, {"at": row.approved_at, "actor": row.approved_by, "action": "run.approved",
                                 "run_id": row.run_id, "organisation": row.organisation, "year": row.year,
                                 "month": row.month, "employees": row.employees, "gross_total": row.gross_total,
                                 "net_total": row.net_total, "content_hash": row.approved_hash})


def downgrade():
    drop_append_only_trigger(op, "audit")
    op.drop_index(op.f('ix_audit_run_id'), table_name='audit')
    op.drop_table('audit')
