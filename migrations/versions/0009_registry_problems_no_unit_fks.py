"""registry: problems without foreign keys to units

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:40:00

A check writes all its problems at once (85,000 for two snapshots of a million
rows; a province has twenty times as many).  The foreign keys from
``school_id`` and ``other_school_id`` to ``units`` cost a trigger and an index
probe per row, 0.5 s of the 1.2 s that writing those 85,000 rows took.  The
ids come from registry records, whose schools the importer checked, and units
are never deleted, so the keys are dropped, as ``registry_records`` has none.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registry_problems', schema=None) as batch_op:
        batch_op.drop_constraint('fk_registry_problems_school_id_units', type_='foreignkey')
        batch_op.drop_constraint('fk_registry_problems_other_school_id_units', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('registry_problems', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_registry_problems_school_id_units', 'units', ['school_id'], ['id'])
        batch_op.create_foreign_key('fk_registry_problems_other_school_id_units', 'units', ['other_school_id'], ['id'])
