"""geofences: where a unit's staff may check in from a phone

Revision ID: b7d2e4f6a8c1
Revises: f3c7a2d9e1b4
Create Date: 2026-12-01 03:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d2e4f6a8c1'
down_revision = 'f3c7a2d9e1b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('geofences',
                    sa.Column('fence_id', sa.String(length=64), nullable=False),
                    sa.Column('unit_id', sa.String(length=64), nullable=False),
                    sa.Column('name', sa.String(length=300), nullable=False),
                    sa.Column('kind', sa.String(length=10), nullable=False),
                    sa.Column('latitude', sa.Float(), nullable=True),
                    sa.Column('longitude', sa.Float(), nullable=True),
                    sa.Column('radius_m', sa.Float(), nullable=True),
                    sa.Column('vertices', sa.JSON(), nullable=True),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('fence_id'))
    op.create_index(op.f('ix_geofences_unit_id'), 'geofences', ['unit_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_geofences_unit_id'), table_name='geofences')
    op.drop_table('geofences')
