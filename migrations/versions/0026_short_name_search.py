"""search: names of one or two characters found through the characters they contain

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 05:25:00

A name of one or two characters has no trigram for ix_persons_name_trgm: on PostgreSQL a GIN index of
each name's characters (string_to_array(name, NULL)) narrows the people first, instead of reading every name.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_persons_name_chars ON persons USING gin (string_to_array(name, NULL))')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX ix_persons_name_chars')
