"""work anywhere: an employee whose check-ins from a phone no fence applies to

Revision ID: c8e1f3a5b7d9
Revises: b7d2e4f6a8c1
Create Date: 2026-12-01 03:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c8e1f3a5b7d9'
down_revision = 'b7d2e4f6a8c1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('employees') as batch:
        batch.add_column(sa.Column('work_anywhere', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('employees') as batch:
        batch.drop_column('work_anywhere')
