"""the activity score's credited and effective minutes of each scored month, to price on the exact ratio

Revision ID: d4a8c1e6f2b9
Revises: b5a341c9cb04
Create Date: 2026-12-01 02:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd4a8c1e6f2b9'
down_revision = 'b5a341c9cb04'
branch_labels = None
depends_on = None


def upgrade():
    # Rows scored before have no minutes: they are priced on the published score, as before.
    with op.batch_alter_table('scored_months') as batch:
        batch.add_column(sa.Column('credited_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('effective_minutes', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('scored_months') as batch:
        batch.drop_column('effective_minutes')
        batch.drop_column('credited_minutes')
