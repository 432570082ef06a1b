"""the dashboard's late and escalated cases now: indexes of the open cases (by id, by unit) and of the escalations

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 05:10:00
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# The finished states (CaseState.FINISHED) as they were when this revision was written.
UNFINISHED = "state NOT IN ('closed', 'rejected', 'referred', 'merged', 'withdrawn')"


def upgrade():
    op.create_index('ix_cases_unfinished', 'cases', ['id', 'responsible_unit_id', 'round'], unique=False,
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
    op.create_index('ix_cases_unfinished_unit', 'cases', ['responsible_unit_id'], unique=False,
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
    op.create_index('ix_chase_steps_escalations', 'chase_steps', ['case_id'], unique=False,
                    postgresql_where=sa.text("step = 'escalate'"), sqlite_where=sa.text("step = 'escalate'"))


def downgrade():
    op.drop_index('ix_chase_steps_escalations', table_name='chase_steps')
    op.drop_index('ix_cases_unfinished_unit', table_name='cases')
    op.drop_index('ix_cases_unfinished', table_name='cases')
