"""citizens' sessions kept server-side; officials' phones sealed with keyed lookup hashes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 23:10:00

The citizen's session cookie carried the access code, names and masked numbers
(signed, not encrypted): they move to ``citizen_sessions``, sealed, found by the
hash of the random id the cookie now carries.

``users.phone``, ``orders.responsible_phone`` and ``orders.acting_phone`` were
plaintext; they are sealed like ``persons.phone`` (an AEAD token of the keyring
in force) with a keyed ``*_hash`` beside each.  The tokens name their suite and
key, so any later keyring that holds the key opens them; the downgrade opens
them again into plaintext.
"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from caseflow.security.crypto import Keyring

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

PHONES = {'users': ('phone',), 'orders': ('responsible_phone', 'acting_phone')}
BATCH = 2000


def _keyring():
    return Keyring(current_app.config["DATA_KEY"], current_app.config.get("CRYPTO_SUITE", "aes"))


def _convert(table, columns, change):
    """Rewrite every non-empty value of ``columns`` as ``change(value)`` -> {column: value, ...}, by id."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :last "
                                    f"ORDER BY id LIMIT {BATCH}"), {"last": last}).all()
        if not rows:
            return
        for row in rows:
            values = {}
            for i, column in enumerate(columns, start=1):
                if row[i]:
                    values.update(change(column, row[i]))
            if values:
                sets = ", ".join(f"{k} = :{k}" for k in values)
                conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), {**values, "id": row[0]})
        last = rows[-1][0]


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

    for table, columns in PHONES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=40), type_=sa.Text(),
                                      existing_nullable=True)
                batch_op.add_column(sa.Column(f'{column}_hash', sa.String(length=64), nullable=True))
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}_hash'), [f'{column}_hash'], unique=False)
    keys = _keyring()
    for table, columns in PHONES.items():
        _convert(table, columns, lambda column, plain: {column: keys.encrypt(plain),
                                                        f"{column}_hash": keys.lookup_hash(plain)})


def downgrade():
    keys = _keyring()
    for table, columns in PHONES.items():
        _convert(table, columns, lambda column, token: {column: keys.decrypt(token)[:40]})
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}_hash'))
                batch_op.drop_column(f'{column}_hash')
                batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.String(length=40),
                                      existing_nullable=True)

    with op.batch_alter_table('citizen_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_sessions_expires_at'))
    op.drop_table('citizen_sessions')
