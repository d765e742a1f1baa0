"""check-ins from a phone: the check-in record, the unit geofences, and punches that no longer count

Revision ID: c4f8a1d2e3b5
Revises: 74031f0fddde
Create Date: 2026-12-01 03:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c4f8a1d2e3b5'
down_revision = '74031f0fddde'
branch_labels = None
depends_on = None
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table('punches') as batch:
        batch.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('checkins',
                    sa.Column('punch_id', _ID, nullable=False),
                    sa.Column('employee_id', sa.String(length=18), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('local_date', sa.Date(), nullable=False),
                    sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('latitude', sa.Float(), nullable=True),
                    sa.Column('longitude', sa.Float(), nullable=True),
                    sa.Column('accuracy_m', sa.Float(), nullable=False),
                    sa.Column('coordinates_until', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('fence_id', sa.String(length=64), nullable=True),
                    sa.Column('inside', sa.Boolean(), nullable=False),
                    sa.Column('distance_m', sa.Float(), nullable=True),
                    sa.Column('exempt', sa.Boolean(), nullable=False),
                    sa.Column('photo_sha256', sa.String(length=64), nullable=False),
                    sa.Column('photo', sa.LargeBinary(), nullable=False),
                    sa.Column('photo_type', sa.String(length=40), nullable=False),
                    sa.Column('doubts', sa.JSON(), nullable=False),
                    sa.Column('review', sa.String(length=10), nullable=False),
                    sa.Column('reviewed_by', sa.String(length=18), nullable=True),
                    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('review_reason', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('punch_id'))
    op.create_index('ix_checkins_employee_at', 'checkins', ['employee_id', 'at'], unique=False)
    op.create_index('ix_checkins_pending', 'checkins', ['review', 'employee_id'], unique=False)
    op.create_index('ix_checkins_coordinates_until', 'checkins', ['coordinates_until'], unique=False)
    op.create_index(op.f('ix_checkins_photo_sha256'), 'checkins', ['photo_sha256'], unique=False)
    op.create_table('geofences',
                    sa.Column('fence_id', sa.String(length=64), nullable=False),
                    sa.Column('unit_id', sa.String(length=64), nullable=False),
                    sa.Column('kind', sa.String(length=10), nullable=False),
                    sa.Column('latitude', sa.Float(), nullable=True),
                    sa.Column('longitude', sa.Float(), nullable=True),
                    sa.Column('radius_m', sa.Float(), nullable=True),
                    sa.Column('vertices', sa.JSON(), nullable=True),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.PrimaryKeyConstraint('fence_id'))
    op.create_index(op.f('ix_geofences_unit_id'), 'geofences', ['unit_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_geofences_unit_id'), table_name='geofences')
    op.drop_table('geofences')
    op.drop_index(op.f('ix_checkins_photo_sha256'), table_name='checkins')
    op.drop_index('ix_checkins_coordinates_until', table_name='checkins')
    op.drop_index('ix_checkins_pending', table_name='checkins')
    op.drop_index('ix_checkins_employee_at', table_name='checkins')
    op.drop_table('checkins')
    with op.batch_alter_table('punches') as batch:
        batch.drop_column('voided_at')
