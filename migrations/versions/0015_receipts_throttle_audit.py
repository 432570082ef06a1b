"""receipt codes kept briefly per submission token; the audit log append-only on SQLite too;
atomic throttle counters; registry problems resolved

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 23:10:00

``receipt_codes`` keeps the sealed access code of a just-submitted complaint for
its submission token for a few minutes, so that a resent or parallel identical
submission shows the same receipt with the code.  On SQLite, triggers refuse
UPDATE and DELETE on ``audit_log`` as the PostgreSQL trigger of 0006 does.
``throttle_counters`` (one row per limit and key, counted by one conditional
upsert) replaces the ``attempts`` rows (check-then-insert); the failures counted
so far are dropped with that table (they last minutes).  ``registry_problems.resolved_at``
marks a filed problem that a later check no longer finds.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    "audit_log_no_update": "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                           "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END",
    "audit_log_no_delete": "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                           "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END",
}


def upgrade():
    op.create_table(
        'receipt_codes',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_receipt_codes_case_id_cases'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_receipt_codes')),
    )
    with op.batch_alter_table('receipt_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_codes_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_codes_expires_at'), ['expires_at'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
    op.create_table(
        'throttle_counters',
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_end', sa.BigInteger(), nullable=False),
        sa.Column('span', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_throttle_counters')),
    )
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_counters_window_end'), ['window_end'], unique=False)
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_scope_key_created')
    op.drop_table('attempts')
    with op.batch_alter_table('registry_problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('registry_problems', schema=None) as batch_op:
        batch_op.drop_column('resolved_at')
    op.create_table(
        'attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_scope_key_created', ['scope', 'key', 'created_at'], unique=False)
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_counters_window_end'))
    op.drop_table('throttle_counters')
    if op.get_bind().dialect.name == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('receipt_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_codes_expires_at'))
        batch_op.drop_index(batch_op.f('ix_receipt_codes_case_id'))
    op.drop_table('receipt_codes')
