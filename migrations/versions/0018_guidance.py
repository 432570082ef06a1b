"""the complaint channels, the FAQ and the rules (政策依据)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 23:30:00

units: e-mail and office hours beside the complaint phone (hotline) and address (0016), published at /directory.
order_citations: the article versions an order cites (政策依据 on its PDF).
faq_entries / faq_counts: the FAQ per complaint category and, per month, how many visitors opened an
answer and how many of them submitted anyway. policy_rules: the articles of the rule documents, one
row per version (an amendment adds a version; what cited the earlier one keeps it).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

CATEGORIES = ('unregistered', 'transfer', 'one_system_only', 'mismatch', 'duplicate', 'separated',
              'graduate_pool', 'other')


def _category():
    return sa.Enum(*CATEGORIES, name='category', native_enum=False, create_constraint=True, length=24)


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('office_hours', sa.String(length=100), nullable=True))
    op.create_table(
        'policy_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('source_title', sa.String(length=200), nullable=False),
        sa.Column('source_date', sa.Date(), nullable=False),
        sa.Column('article', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_rules')),
        sa.UniqueConstraint('source', 'article', 'version', name='uq_policy_rules_version'),
    )
    op.create_table(
        'order_citations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_citations_order_id_orders')),
        sa.ForeignKeyConstraint(['rule_id'], ['policy_rules.id'], name=op.f('fk_order_citations_rule_id_policy_rules')),
        sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_order_citations_added_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_citations')),
        sa.UniqueConstraint('order_id', 'rule_id', name='uq_order_citations_rule'),
    )
    op.create_index(op.f('ix_order_citations_order_id'), 'order_citations', ['order_id'], unique=False)
    op.create_table(
        'faq_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category', _category(), nullable=False),
        sa.Column('question', sa.String(length=200), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('rule_key', sa.String(length=90), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries')),
    )
    op.create_index(op.f('ix_faq_entries_category'), 'faq_entries', ['category'], unique=False)
    op.create_table(
        'faq_counts',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('category', _category(), nullable=False),
        sa.Column('opened', sa.Integer(), server_default='0', nullable=False),
        sa.Column('submitted', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('month', 'category', name=op.f('pk_faq_counts')),
    )


def downgrade():
    op.drop_table('faq_counts')
    op.drop_index(op.f('ix_faq_entries_category'), table_name='faq_entries')
    op.drop_table('faq_entries')
    op.drop_index(op.f('ix_order_citations_order_id'), table_name='order_citations')
    op.drop_table('order_citations')
    op.drop_table('policy_rules')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('office_hours')
        batch_op.drop_column('email')
