"""device bounds: allowed source networks and the comm key per device

Revision ID: b7e2c4d91a05
Revises: a3c51f0e9b27
Create Date: 2026-11-30 21:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2c4d91a05'
down_revision = 'a3c51f0e9b27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allowed_networks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('comm_key_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('comm_key_digest')
        batch_op.drop_column('allowed_networks')
