"""monthly SKP targets and the month's target score

Revision ID: d5e8a1b2c3f4
Revises: c4f1d2e3a5b6
Create Date: 2026-11-30 17:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd5e8a1b2c3f4'
down_revision = 'c4f1d2e3a5b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('targets',
    sa.Column('target_id', sa.String(length=36), nullable=False),
    sa.Column('employee_id', sa.String(length=18), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('output', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('output_unit', sa.String(length=60), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('time_days', sa.Integer(), nullable=True),
    sa.Column('catalogue_item_id', sa.String(length=64), nullable=True),
    sa.Column('realised_quantity', sa.Integer(), nullable=True),
    sa.Column('realised_quality', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('realised_days', sa.Integer(), nullable=True),
    sa.Column('set_by', sa.String(length=18), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assessed_by', sa.String(length=18), nullable=True),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('target_id')
    )
    op.create_index('ix_targets_employee_period', 'targets', ['employee_id', 'year', 'month'], unique=False)
    with op.batch_alter_table('month_scores') as batch:
        batch.add_column(sa.Column('target_score', sa.Numeric(precision=7, scale=2), nullable=True))


def downgrade():
    with op.batch_alter_table('month_scores') as batch:
        batch.drop_column('target_score')
    op.drop_index('ix_targets_employee_period', table_name='targets')
    op.drop_table('targets')
