"""verifier units: the projection of approvals' assignments that scopes a verifier's reads

Revision ID: e1f2a3b4c5d6
Revises: a3b8425f2693
Create Date: 2026-11-30 17:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e1f2a3b4c5d6'
down_revision = 'a3b8425f2693'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('verifier_units',
    sa.Column('verifier_id', sa.String(length=18), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('verifier_id', 'unit_id')
    )


def downgrade():
    op.drop_table('verifier_units')
