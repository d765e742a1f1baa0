"""work anywhere: the directory's per-employee exemption from the check-in fences, projected

Revision ID: d9f2a4b6c8e0
Revises: c4f8a1d2e3b5
Create Date: 2026-12-01 03:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd9f2a4b6c8e0'
down_revision = 'c4f8a1d2e3b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('employees') as batch:
        batch.add_column(sa.Column('work_anywhere', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('employees') as batch:
        batch.drop_column('work_anywhere')
