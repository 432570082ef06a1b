"""registry: a registry number is unique within an import

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:40:00

The importer already keeps one row per registry number and import (later
repeats are rejected).  Saying so in the index lets an import build it as
UNIQUE and skip the search for repeats when the build succeeds, which it does
for every clean file.  On PostgreSQL the index of the partitioned table is
recreated, which rebuilds it on each existing partition.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registry_records', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_records_registry_no')
        batch_op.create_index('ix_registry_records_registry_no', ['registry_no_hash', 'import_id'], unique=True)


def downgrade():
    with op.batch_alter_table('registry_records', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_records_registry_no')
        batch_op.create_index('ix_registry_records_registry_no', ['registry_no_hash', 'import_id'], unique=False)
