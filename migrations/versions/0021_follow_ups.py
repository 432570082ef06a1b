"""follow-up tasks (回访) of closed cases, for the response, resolution and satisfaction rates

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 01:50:00

follow_ups: one row per closed round of a case, owed by the unit responsible at closing; ended by the
complainant's online rating within the window, by an answered call, or made invalid by unanswered calls.
Its outcome (in time, resolution, rating) is frozen when it ends, so the three rates never drift.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade():
    op.create_table(
        'follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('state', _enum('followupstate', 'pending', 'online', 'called', 'invalid'), nullable=False),
        sa.Column('closed_on', sa.Date(), nullable=False),
        sa.Column('rate_until', sa.Date(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('failed_calls', sa.SmallInteger(), server_default='0', nullable=False),
        sa.Column('chase_level', sa.SmallInteger(), server_default='0', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('in_time', sa.Boolean(), nullable=True),
        sa.Column('resolution', _enum('resolution', 'solved', 'partly', 'unsolved'), nullable=True),
        sa.Column('rating', _enum('rating', 'satisfied', 'basically', 'unsatisfied'), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("(state = 'pending') = (ended_at IS NULL)", name=op.f('ck_follow_ups_ended_has_time')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_follow_ups_case_id_cases')),
        sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_follow_ups_ended_by_id_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_follow_ups_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
        sa.UniqueConstraint('case_id', 'round', name='uq_follow_ups_case_round'),
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_ended', ['ended_at', 'unit_id'], unique=False)
        batch_op.create_index('ix_follow_ups_unit_state', ['unit_id', 'state', 'due_on'], unique=False)


def downgrade():
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_unit_state')
        batch_op.drop_index('ix_follow_ups_ended')
    op.drop_table('follow_ups')
