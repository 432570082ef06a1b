"""summary rows of the dashboard and the monthly report: unit_facts (rolled up the tree) and case_facts

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 05:00:00

The counts per unit, Shanghai month and metric that the dashboard and the monthly report read, kept by the
transaction that changes a case (caseflow.chase.facts). An existing database's rows are computed here.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'unit_facts',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('metric', sa.String(length=40), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_facts_unit_id_units'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('unit_id', 'month', 'metric', name=op.f('pk_unit_facts')),
    )
    op.create_table(
        'case_facts',
        sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_facts')),
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM cases)")).scalar():
        from caseflow.chase import facts

        facts.rebuild(Session(bind=bind))


def downgrade():
    op.drop_table('case_facts')
    op.drop_table('unit_facts')
