"""the cause of each re-scored month version, for a correction's payslip line

Revision ID: c9e2f5a1b7d4
Revises: b7d1e4f2a9c3
Create Date: 2026-11-30 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c9e2f5a1b7d4'
down_revision = 'b7d1e4f2a9c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('score_causes',
    sa.Column('employee_id', sa.String(length=18), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('employee_id', 'year', 'month', 'version')
    )


def downgrade():
    op.drop_table('score_causes')
