"""runs list the components priced without their figure

Revision ID: b7d1e4f2a9c3
Revises: 6003229cc201
Create Date: 2026-11-30 17:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d1e4f2a9c3'
down_revision = '6003229cc201'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('incomplete', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade():
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('incomplete')
