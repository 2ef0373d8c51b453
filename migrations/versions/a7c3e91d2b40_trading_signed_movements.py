"""trading: signed movements, exchange confirmation, certificate document id as text

Revision ID: a7c3e91d2b40
Revises: 63234b222d37
Create Date: 2026-12-06 02:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c3e91d2b40'
down_revision = '63234b222d37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('trading_movement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_by', sa.String(length=64), nullable=True))
    # documents.Document ids are 32 hex characters, not integers
    with op.batch_alter_table('trading_monitoring_report', schema=None) as batch_op:
        batch_op.alter_column('document_id', existing_type=sa.Integer(),
                              type_=sa.String(length=32), postgresql_using='document_id::text')


def downgrade():
    with op.batch_alter_table('trading_monitoring_report', schema=None) as batch_op:
        batch_op.alter_column('document_id', existing_type=sa.String(length=32),
                              type_=sa.Integer(), postgresql_using='document_id::integer')
    with op.batch_alter_table('trading_movement', schema=None) as batch_op:
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('signature')
