"""trading: signed movements, exchange confirmation

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


def downgrade():
    with op.batch_alter_table('trading_movement', schema=None) as batch_op:
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('signature')
