"""holidays proposed from the national calendar: confirmed, decided and source; existing rows are confirmed

Revision ID: f3c7a2d9e1b4
Revises: 49fe67fdef81
Create Date: 2026-12-01 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f3c7a2d9e1b4'
down_revision = '49fe67fdef81'
branch_labels = None
depends_on = None


def upgrade():
    # Every holiday recorded before was entered by an admin and is in force: confirmed, decided, by hand.
    with op.batch_alter_table('holidays') as batch:
        batch.add_column(sa.Column('confirmed', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('decided', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('source', sa.String(length=80), nullable=False, server_default='admin'))


def downgrade():
    with op.batch_alter_table('holidays') as batch:
        batch.drop_column('source')
        batch.drop_column('decided')
        batch.drop_column('confirmed')
