"""repeat complaints: merged cases and the matches found at intake

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 02:00:00

cases: merged_into_id (the primary case a repeat complaint was merged into, 并单) and state_before_merge
(what unmerging restores); the state 'merged' joins the allowed states.
ix_cases_received_unit: with the state, so the monthly counts leave merged cases out from the index alone.
case_links: a later case about the same student as an earlier one, with the reason of the match, and
when the responsible unit linked the two as related (关联).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

STATES = ('submitted', 'registered', 'verifying', 'deciding', 'handling', 'concluding', 'closed', 'rejected',
          'referred')


def _states(*extra):
    return sa.Enum(*STATES, *extra, name='casestate', native_enum=False, create_constraint=True, length=24)


def _state_condition(*extra) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in (*STATES, *extra)) + ")"


def _allow_states(*extra) -> None:
    """Replace the CHECK constraint of ``cases.state`` with one allowing ``STATES`` + ``extra``."""
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_cases_casestate'), 'cases', type_='check')
        op.create_check_constraint(op.f('ck_cases_casestate'), 'cases', _state_condition(*extra))
        return
    with op.batch_alter_table('cases', schema=None, recreate='always') as batch_op:
        batch_op.alter_column('state', existing_type=_states(*({'merged'} - set(extra))), type_=_states(*extra),
                              existing_nullable=False)


def upgrade():
    _allow_states('merged')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('state_before_merge', sa.String(length=24), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_merged_into_id_cases'), 'cases', ['merged_into_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_cases_merged_has_primary'), "(state = 'merged') = (merged_into_id IS NOT NULL)")
    op.create_table(
        'case_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('other_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Enum('id_number', 'registry_no', 'name_birth_school', name='matchreason',
                                    native_enum=False, create_constraint=True, length=24), nullable=False),
        sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('linked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_links_case_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['other_id'], ['cases.id'], name=op.f('fk_case_links_other_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_case_links_linked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_links')),
        sa.UniqueConstraint('case_id', 'other_id', name='uq_case_links_pair'),
    )
    op.create_index(op.f('ix_case_links_other_id'), 'case_links', ['other_id'], unique=False)
    # The monthly counts leave merged cases out and still read the index alone.
    op.drop_index('ix_cases_received_unit', table_name='cases')
    op.create_index('ix_cases_received_unit', 'cases', ['received_at', 'responsible_unit_id', 'state'], unique=False)


def downgrade():
    op.drop_index('ix_cases_received_unit', table_name='cases')
    op.create_index('ix_cases_received_unit', 'cases', ['received_at', 'responsible_unit_id'], unique=False)
    op.drop_index(op.f('ix_case_links_other_id'), table_name='case_links')
    op.drop_table('case_links')
    op.execute("UPDATE cases SET state = state_before_merge, merged_into_id = NULL WHERE state = 'merged'")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cases_merged_has_primary'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_cases_merged_into_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_merged_into_id'))
        batch_op.drop_column('state_before_merge')
        batch_op.drop_column('merged_into_id')
    _allow_states()
