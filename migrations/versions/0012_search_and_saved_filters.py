"""search: name trigram index, list indexes, saved filters

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 23:10:00

The lists (/cases, /orders, /inbox) search people's names by substring: on
PostgreSQL a GIN trigram index (``pg_trgm``) serves names of three characters
or more; shorter names are filtered after the scope (the user's unit subtree)
has narrowed the rows.  The other indexes serve the lists' filters and their
default order (the most urgent deadline first); see the search section of the
README for the plans they were chosen by.  ``saved_filters`` holds each user's
named filters.  On SQLite the trigram index is a plain index on the name.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_persons_name_trgm', 'persons', ['name'], unique=False,
                        postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
        # The subtree test (path LIKE 'prefix%') needs pattern ops under a non-C collation.
        op.create_index('ix_units_path_prefix', 'units', ['path'], unique=False,
                        postgresql_ops={'path': 'varchar_pattern_ops'})
    else:
        op.create_index('ix_persons_name_trgm', 'persons', ['name'], unique=False)
        op.create_index('ix_units_path_prefix', 'units', ['path'], unique=False)
    # The visibility rule's "an order of the case was received in my subtree", as an index-only probe.
    op.create_index('ix_orders_receiving_case', 'orders', ['receiving_unit_id', 'case_id'], unique=False)
    # The inbox: a unit's open orders, received (to work) or issued (to review).
    working = "state IN ('sent', 'signed', 'relayed')"
    still_open = "state IN ('sent', 'signed', 'relayed', 'reported')"
    op.create_index('ix_orders_inbox_receiving', 'orders', ['receiving_unit_id'], unique=False,
                    postgresql_where=sa.text(working), sqlite_where=sa.text(working))
    op.create_index('ix_orders_inbox_issuing', 'orders', ['issuing_unit_id'], unique=False,
                    postgresql_where=sa.text(still_open), sqlite_where=sa.text(still_open))
    # The order lists' default order: the deadline the receiver must meet next, then the newest.
    op.execute("CREATE INDEX ix_orders_urgency ON orders ((CASE WHEN state = 'sent' THEN sign_due_on "
               "WHEN state IN ('sent', 'signed', 'relayed') THEN due_on END), id DESC)")
    # The case list's default order (the action deadline first, then the newest) read off an index.
    op.create_index('ix_cases_action_due', 'cases', ['action_due_on', sa.text('id DESC')], unique=False)
    op.create_index('ix_case_schools_unit_id', 'case_schools', ['unit_id', 'case_id'], unique=False)
    op.create_index('ix_cases_received_at', 'cases', ['received_at'], unique=False)
    op.create_index('ix_cases_complainant_id', 'cases', ['complainant_id'], unique=False)
    op.create_index('ix_cases_student_id', 'cases', ['student_id'], unique=False)
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('list', sa.String(length=10), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("list IN ('cases', 'orders', 'inbox')", name=op.f('ck_saved_filters_list_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_filters_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
        sa.UniqueConstraint('user_id', 'name', name='uq_saved_filters_user_name'),
    )


def downgrade():
    op.drop_table('saved_filters')
    op.drop_index('ix_cases_student_id', table_name='cases')
    op.drop_index('ix_cases_complainant_id', table_name='cases')
    op.drop_index('ix_cases_received_at', table_name='cases')
    op.drop_index('ix_case_schools_unit_id', table_name='case_schools')
    op.drop_index('ix_cases_action_due', table_name='cases')
    op.execute('DROP INDEX IF EXISTS ix_orders_urgency')  # SQLite's batch rebuilds (0013, 0014) drop it
    op.drop_index('ix_orders_inbox_issuing', table_name='orders')
    op.drop_index('ix_orders_inbox_receiving', table_name='orders')
    op.drop_index('ix_orders_receiving_case', table_name='orders')
    op.drop_index('ix_units_path_prefix', table_name='units')
    op.drop_index('ix_persons_name_trgm', table_name='persons')
