"""outbox leases, retries, dead letters; periodic job schedule

Revision ID: f72dd28bf7f4
Revises: 75b5f4efdfd6
Create Date: 2026-12-05 13:04:07.050128

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f72dd28bf7f4'
down_revision = '75b5f4efdfd6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_schedule',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=True),
    sa.Column('last_started_at', sa.DateTime(), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_schedule'))
    )
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('attempt_log', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_job_lease_until'), ['lease_until'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_job_key'), ['key'])



def downgrade():
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_job_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_outbox_job_lease_until'))
        batch_op.drop_column('started_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('attempt_log')
        batch_op.drop_column('key')

    op.drop_table('job_schedule')
