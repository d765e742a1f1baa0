"""doubtful punches: a day's check-ins from a phone awaiting the supervisor's review

Revision ID: e6a9b3c5d7f1
Revises: 7b5c054d9c6e
Create Date: 2026-12-01 03:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'e6a9b3c5d7f1'
down_revision = '7b5c054d9c6e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('days') as batch:
        batch.add_column(sa.Column('doubtful_punches', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('days') as batch:
        batch.drop_column('doubtful_punches')
