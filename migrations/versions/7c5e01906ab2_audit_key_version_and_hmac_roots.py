"""audit key version and hmac roots

HMAC roots wrapped by the master key (separate from it); every audit record and the chain
head name the root version they were chained with. Records from before this revision get
version 0, the legacy key derived from the master key, under which they still verify; the
head stays on 0 until the first `cecp keys rotate` moves the chain to a root (which also
recomputes the blind indexes under the stable root 1).

Revision ID: 7c5e01906ab2
Revises: 5b4b1fbbd320
Create Date: 2026-12-05 13:07:19.528018

"""
import flask_security.datastore  # noqa: F401  (column types of Flask-Security models)
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c5e01906ab2'
down_revision = '5b4b1fbbd320'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hmac_root',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_hmac_root'))
    )
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_version', sa.Integer(), server_default='0',
                                      nullable=False))

    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_version', sa.Integer(), server_default='0',
                                      nullable=False))



def downgrade():
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_column('key_version')

    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('key_version')

    op.drop_table('hmac_root')
