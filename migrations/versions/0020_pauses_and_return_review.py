"""clock pauses (中止计时) and return review (退单审核)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 02:30:00

order_pauses: a receiving unit's request to stop an order's clock, the issuer's decision, and the pause
itself (started, ends by, ended, working days). orders: the states 'paused' and 'return_pending', the
working days paused so far, and the pending return's reviewer unit, review deadline (chased: its own
chase level and partial index) and decision. chase_steps: the 'review' deadline.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

OLD_STATES = ('sent', 'signed', 'relayed', 'reported', 'accepted', 'returned', 'cancelled')
NEW_STATES = (*OLD_STATES, 'paused', 'return_pending')
OLD_OPEN = "state IN ('sent', 'signed', 'relayed', 'reported')"
NEW_OPEN = "state IN ('sent', 'signed', 'relayed', 'reported', 'paused', 'return_pending')"
REVIEW_OPEN = "state = 'return_pending' AND review_chase_level < 2"


def _in(values):
    return "state IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _orders_constraints(batch_op, states, returned_states, signed_exempt):
    batch_op.drop_constraint(batch_op.f('ck_orders_orderstate'), type_='check')
    batch_op.create_check_constraint('orderstate', _in(states))
    batch_op.drop_constraint(batch_op.f('ck_orders_returned_has_reason'), type_='check')
    batch_op.create_check_constraint(
        'returned_has_reason', f"state NOT IN ({', '.join(repr(s) for s in returned_states)}) OR return_reason IS NOT NULL")
    batch_op.drop_constraint(batch_op.f('ck_orders_signed_has_time'), type_='check')
    batch_op.create_check_constraint('signed_has_time', signed_exempt)


def upgrade():
    op.create_table(
        'order_pauses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Enum('awaiting_complainant', 'other_authority', 'other', name='pausereason',
                                    native_enum=False, create_constraint=True, length=24), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('state', sa.Enum('pending', 'approved', 'refused', name='extensionstate', native_enum=False,
                                   create_constraint=True, length=24), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ends_by', sa.Date(), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('workdays', sa.SmallInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(state = 'pending') = (decided_at IS NULL)", name=op.f('ck_order_pauses_decided_has_time')),
        sa.CheckConstraint("state = 'approved' OR started_at IS NULL", name=op.f('ck_order_pauses_started_when_approved')),
        sa.CheckConstraint("ended_at IS NULL OR started_at IS NOT NULL", name=op.f('ck_order_pauses_ended_after_start')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_pauses_order_id_orders')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_order_pauses_requested_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_order_pauses_decided_by_id_users')),
        sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_order_pauses_ended_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_pauses')),
    )
    op.create_index(op.f('ix_order_pauses_order_id'), 'order_pauses', ['order_id'], unique=False)
    op.create_index(op.f('ix_order_pauses_ends_by'), 'order_pauses', ['ends_by'], unique=False)
    op.drop_index('ix_orders_inbox_issuing', table_name='orders')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_reviewer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('review_chase_level', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('return_decision', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('paused_workdays', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_orders_return_reviewer_id_units'), 'units',
                                    ['return_reviewer_id'], ['id'])
        _orders_constraints(batch_op, NEW_STATES, ('returned', 'return_pending'),
                            "state IN ('sent', 'returned', 'return_pending', 'cancelled') OR signed_at IS NOT NULL")
        batch_op.create_check_constraint(
            'return_pending_reviewed',
            "state != 'return_pending' OR (review_due_on IS NOT NULL AND return_reviewer_id IS NOT NULL)")
    op.create_index('ix_orders_inbox_issuing', 'orders', ['issuing_unit_id'], unique=False,
                    postgresql_where=sa.text(NEW_OPEN), sqlite_where=sa.text(NEW_OPEN))
    op.create_index('ix_orders_review_chase_open', 'orders', ['review_due_on'], unique=False,
                    postgresql_where=sa.text(REVIEW_OPEN), sqlite_where=sa.text(REVIEW_OPEN))
    with op.batch_alter_table('chase_steps', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_chase_steps_deadline_known'), type_='check')
        batch_op.create_check_constraint('deadline_known', "deadline IN ('sign', 'complete', 'action', 'review')")


def downgrade():
    op.execute("DELETE FROM chase_steps WHERE deadline = 'review'")
    with op.batch_alter_table('chase_steps', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_chase_steps_deadline_known'), type_='check')
        batch_op.create_check_constraint('deadline_known', "deadline IN ('sign', 'complete', 'action')")
    # Pending returns and running pauses fall back to the states the older code knows.
    op.execute("UPDATE orders SET state = CASE WHEN signed_at IS NULL THEN 'sent' "
               "WHEN EXISTS (SELECT 1 FROM orders c WHERE c.parent_id = orders.id "
               "AND c.state NOT IN ('returned', 'cancelled')) THEN 'relayed' ELSE 'signed' END "
               "WHERE state IN ('paused', 'return_pending')")
    op.drop_index('ix_orders_review_chase_open', table_name='orders')
    op.drop_index('ix_orders_inbox_issuing', table_name='orders')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_return_pending_reviewed'), type_='check')
        _orders_constraints(batch_op, OLD_STATES, ('returned',),
                            "state = 'sent' OR state = 'returned' OR state = 'cancelled' OR signed_at IS NOT NULL")
        batch_op.drop_constraint(batch_op.f('fk_orders_return_reviewer_id_units'), type_='foreignkey')
        batch_op.drop_column('paused_workdays')
        batch_op.drop_column('return_decision')
        batch_op.drop_column('review_chase_level')
        batch_op.drop_column('review_due_on')
        batch_op.drop_column('return_reviewer_id')
    op.create_index('ix_orders_inbox_issuing', 'orders', ['issuing_unit_id'], unique=False,
                    postgresql_where=sa.text(OLD_OPEN), sqlite_where=sa.text(OLD_OPEN))
    op.drop_index(op.f('ix_order_pauses_ends_by'), table_name='order_pauses')
    op.drop_index(op.f('ix_order_pauses_order_id'), table_name='order_pauses')
    op.drop_table('order_pauses')
