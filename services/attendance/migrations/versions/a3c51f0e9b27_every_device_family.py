"""every device family: date-form stamps, any table name, command results, templates, punch photos;
verifier units (approvals' assignments, for access)

Revision ID: a3c51f0e9b27
Revises: d87045c16c10
Create Date: 2026-11-30 17:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a3c51f0e9b27'
down_revision = 'd87045c16c10'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('attlog_stamp_text', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('operlog_stamp_text', sa.String(length=20), nullable=True))
    with op.batch_alter_table('raw_uploads') as batch:
        batch.alter_column('table_name', existing_type=sa.String(length=20), type_=sa.String(length=40),
                           existing_nullable=False)
    op.create_index('ix_raw_uploads_device_table', 'raw_uploads', ['device_serial', 'table_name', 'id'])
    with op.batch_alter_table('device_commands') as batch:
        batch.add_column(sa.Column('result', sa.Text(), nullable=True))
        batch.add_column(sa.Column('requested_by', sa.String(length=18), nullable=True))
    op.create_table('device_templates',
    sa.Column('device_serial', sa.String(length=64), nullable=False),
    sa.Column('pin', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('device_serial', 'pin', 'kind', 'index')
    )
    op.create_table('verifier_units',
    sa.Column('verifier_id', sa.String(length=18), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('verifier_id', 'unit_id')
    )
    op.create_table('punch_photos',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('device_serial', sa.String(length=64), nullable=False),
    sa.Column('pin', sa.String(length=32), nullable=False),
    sa.Column('local_time', sa.DateTime(timezone=False), nullable=False),
    sa.Column('photo', sa.LargeBinary(), nullable=False),
    sa.Column('upload_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_serial', 'pin', 'local_time', name='uq_punch_photos_serial_pin_time')
    )


def downgrade():
    op.drop_table('punch_photos')
    op.drop_table('verifier_units')
    op.drop_table('device_templates')
    with op.batch_alter_table('device_commands') as batch:
        batch.drop_column('requested_by')
        batch.drop_column('result')
    op.drop_index('ix_raw_uploads_device_table', table_name='raw_uploads')
    with op.batch_alter_table('raw_uploads') as batch:
        batch.alter_column('table_name', existing_type=sa.String(length=40), type_=sa.String(length=20),
                           existing_nullable=False)
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('operlog_stamp_text')
        batch.drop_column('attlog_stamp_text')
