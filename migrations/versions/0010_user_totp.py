"""users: the optional TOTP second factor

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:00:00

``totp_secret`` holds the secret encrypted with the data key (the ``Encrypted``
type: key rotation covers it); ``totp_last_step`` the 30-second step of the last code accepted, so a
code cannot be used twice.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
