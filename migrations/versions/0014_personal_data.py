"""citizens' sessions kept server-side

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-05 23:10:00

The citizen's session cookie carried the access code, names and masked numbers
(signed, not encrypted): they move to ``citizen_sessions``, sealed, found by the
hash of the random id the cookie now carries.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'citizen_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_citizen_sessions')),
    )
    with op.batch_alter_table('citizen_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('citizen_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_sessions_expires_at'))
    op.drop_table('citizen_sessions')
