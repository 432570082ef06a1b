"""audit log append-only; registry numbers encrypted

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23 01:40:00

On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on ``audit_log``.
A G-number is "G" + the citizen ID number, so ``persons.registry_no`` is now
encrypted like the ID number, with a keyed hash for exact-match lookups; the
existing plaintext values are encrypted here with the data key of the app's config.
The Fernet encryption and HMAC of this revision are copied here, not imported
from ``caseflow``: this revision must do the same whatever the app's code becomes.
"""
import base64

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
TRIGGERS = (
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"caseflow", info=info).derive(secret.encode())


def _recode_registry_numbers(encrypting: bool) -> None:
    """Fernet under the data key (the first encrypts, all decrypt), HMAC-SHA-256 lookup hash."""
    secrets_ = [k.strip() for k in current_app.config["DATA_KEY"].split(",") if k.strip()]
    fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(s, b"encrypt"))) for s in secrets_])
    lookup_key = _derive(secrets_[0], b"lookup-hmac")

    def lookup_hash(value: str) -> str:
        h = hmac.HMAC(lookup_key, hashes.SHA256())
        h.update(value.encode())
        return h.finalize().hex()

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, registry_no FROM persons WHERE registry_no IS NOT NULL")).all()
    for person_id, value in rows:
        if encrypting:
            params = {"v": fernet.encrypt(value.encode()).decode(), "h": lookup_hash(value), "id": person_id}
            conn.execute(sa.text("UPDATE persons SET registry_no = :v, registry_no_hash = :h WHERE id = :id"), params)
        else:
            conn.execute(sa.text("UPDATE persons SET registry_no = :v WHERE id = :id"),
                         {"v": fernet.decrypt(value.encode()).decode(), "id": person_id})


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_registry_no'))
        batch_op.alter_column('registry_no', existing_type=sa.String(length=19), type_=sa.Text(),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('registry_no_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_persons_registry_no_hash'), ['registry_no_hash'], unique=False)
    _recode_registry_numbers(encrypting=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        for statement in TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    _recode_registry_numbers(encrypting=False)
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_registry_no_hash'))
        batch_op.drop_column('registry_no_hash')
        batch_op.alter_column('registry_no', existing_type=sa.Text(), type_=sa.String(length=19),
                              existing_nullable=True)
        batch_op.create_index(batch_op.f('ix_persons_registry_no'), ['registry_no'], unique=False)
