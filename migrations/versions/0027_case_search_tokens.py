"""search: each case's name characters and the units that may see it, in one GIN-indexed array

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 10:00:00

cases.search_tokens (PostgreSQL; an unused JSON column elsewhere): minus the code point of each character of the
complainant's and the student's name, and the ids of the responsible unit, of each order's receiving unit and
of every unit above them.  A name search in a scope is one GIN index scan (caseflow.cases.search_tokens, which
keeps the column with every commit).  The fill below is that module's TOKENS_OF_CASE as of this revision.
The index of the people's name characters (0026), which the search read before, goes.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

TOKENS_OF_CASE = """
    ARRAY(SELECT t FROM (
        SELECT -ascii(ch) AS t
          FROM persons p CROSS JOIN LATERAL unnest(string_to_array(p.name, NULL)) AS ch
         WHERE p.id IN (c.complainant_id, c.student_id)
        UNION
        SELECT a.id
          FROM (SELECT c.responsible_unit_id AS unit_id
                UNION SELECT o.receiving_unit_id FROM orders o WHERE o.case_id = c.id) AS seeing
          JOIN units u ON u.id = seeing.unit_id
          JOIN units a ON a.code = ANY(string_to_array(u.path, '/'))
    ) AS tokens ORDER BY t)
"""


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.add_column('cases', sa.Column(
        'search_tokens', postgresql.ARRAY(sa.Integer()) if postgres else sa.JSON(), nullable=True))
    if postgres:
        op.execute(f'UPDATE cases c SET search_tokens = {TOKENS_OF_CASE}')
        op.execute('CREATE INDEX ix_cases_search_tokens ON cases USING gin (search_tokens)')
        op.execute('DROP INDEX ix_persons_name_chars')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_persons_name_chars ON persons USING gin (string_to_array(name, NULL))')
        op.execute('DROP INDEX ix_cases_search_tokens')
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('search_tokens')
