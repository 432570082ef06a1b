"""the complainant after submitting: SMS or none, and withdrawal (撤诉)

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-06 02:00:00

cases.notice: texts about the case ('sms') or none; existing cases keep texts (as before, only to a mobile).
cases.withdrawn_at / withdrawal_reason: a withdrawal, tied to the new case state 'withdrawn' by two checks;
ix_cases_withdrawn gives the monthly report its withdrawals per unit.  The case state's CHECK gains
'withdrawn'.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# The states before this revision ('merged' came with 0019), then the new one.
STATES = ('submitted', 'registered', 'verifying', 'deciding', 'handling', 'concluding', 'closed', 'rejected',
          'referred', 'merged')
NEW_STATES = (*STATES, 'withdrawn')


def _states_check(batch_op, states):
    batch_op.drop_constraint(op.f('ck_cases_casestate'), type_='check')
    batch_op.create_check_constraint('casestate', sa.column('state').in_(states))


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice', sa.Enum('sms', 'none', name='noticepreference', native_enum=False,
                                                        create_constraint=True, length=24),
                                      server_default='sms', nullable=False))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Text(), nullable=True))
        _states_check(batch_op, NEW_STATES)
        batch_op.create_check_constraint('withdrawn_has_reason', "(state = 'withdrawn') = (withdrawal_reason IS NOT NULL)")
        batch_op.create_check_constraint('withdrawn_has_time', "(state = 'withdrawn') = (withdrawn_at IS NOT NULL)")
        batch_op.create_index('ix_cases_withdrawn', ['withdrawn_at', 'responsible_unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_withdrawn')
        batch_op.drop_constraint(op.f('ck_cases_withdrawn_has_time'), type_='check')
        batch_op.drop_constraint(op.f('ck_cases_withdrawn_has_reason'), type_='check')
        _states_check(batch_op, STATES)
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('notice')
