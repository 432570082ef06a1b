"""units: the complaint reception address shown to citizens

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 23:40:00

The responsible unit's address (where a complainant may go or write) beside its phone and hotline,
on the tracking page and the receipt.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('address')
