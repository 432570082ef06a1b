"""registry: an ID number's key is bytes 8..16 of the registry HMAC of "G" + the number

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 14:00:00

Until now a registry record's ``id_key`` was the first 8 bytes of the registry HMAC of its ID number, a second
HMAC beside the one of its registry number.  Most registry numbers are "G" + the ID number, so the key of an ID
number is now bytes 8..16 of the HMAC of "G" + the number: one HMAC gives such a row both keys, and the import
does half the keyed hashing (``caseflow.security.crypto.Keyring.id_key``).  This revision re-keys the stored
records: each row's ID number is read from its sealed personal data (``pii``, "id|registry_no|phone") and keyed
again under the HMAC key that made the row's registry key (the first of ``CASEFLOW_DATA_KEY`` under the configured
suite, unless the snapshot was imported before a key change); the downgrade puts back the HMAC of the number
itself.  ``registry_key`` does not change (problems and case links point at it), and nothing else
stores an ID key.

The cryptography is copied here, not imported from ``caseflow``: this revision must keep doing the same when the
app's code changes.  Rows are read a partition (one import) at a time; on PostgreSQL each import is rewritten in
one join with its new keys, the indexes dropped and built again around it: about 19 s a million rows either way.
"""
import base64
import functools
import logging

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

BATCH = 20000
# The indexes of registry_records as of this revision (models.registry).
INDEXES = {'ix_registry_records_registry_key': (['registry_key', 'import_id'], True),
           'ix_registry_records_id_key': (['id_key'], False),
           'ix_registry_records_name_birth': (['name', 'birth_date'], False)}
log = logging.getLogger("alembic.runtime.migration")


@functools.cache  # the same few keys for every row
def _derive(secret, info, length=32, sm3=False):
    return HKDF(algorithm=hashes.SM3() if sm3 else hashes.SHA256(), length=length, salt=b"caseflow",
                info=info).derive(secret.encode())


class _Keys:
    """The token format of revisions 0011.. (``<a|s>:<key id>:base64(nonce + ciphertext + tag)``) and the registry
    HMAC of every configured secret under both suites, the first secret under the configured suite first."""

    def __init__(self, secrets_, suite):
        self.kids = {_derive(s, b"key-id", 4).hex(): s for s in secrets_}
        suites = [suite] + [other for other in ("aes", "sm4") if other != suite]
        self.registry = [self._registry_hmac(s, suite_) for suite_ in suites for s in secrets_]

    @staticmethod
    def _registry_hmac(secret, suite):
        if suite == "aes":
            return hmac.HMAC(_derive(secret, b"registry-hmac-sha256"), hashes.SHA256())
        return hmac.HMAC(_derive(secret, b"registry-hmac-sm3", 32, sm3=True), hashes.SM3())

    def open(self, token):
        """The sealed text, or None when no configured secret opens it."""
        mark, kid, body = token.split(":", 2)
        secret = self.kids.get(kid)
        if secret is None:
            return None
        raw, header = base64.b64decode(body), f"{mark}:{kid}:".encode()
        if mark == "a":
            return AESGCM(_derive(secret, b"aead-aes-256-gcm")).decrypt(raw[:12], raw[12:], header).decode()
        key = algorithms.SM4(_derive(secret, b"aead-sm4-gcm", 16, sm3=True))
        decryptor = Cipher(key, modes.GCM(raw[:12], raw[-16:])).decryptor()
        decryptor.authenticate_additional_data(header)
        return (decryptor.update(raw[12:-16]) + decryptor.finalize()).decode()

    @staticmethod
    def _mac(base, value):
        h = base.copy()
        h.update(value.encode())
        return h.finalize()

    def id_key(self, registry_key, registry_no, id_number, new):
        """The row's ID key under the HMAC key that made its registry key (a snapshot imported before a key
        change keeps the older key for both), or None when no configured key made it."""
        for base in self.registry:
            digest = self._mac(base, registry_no)
            if int.from_bytes(digest[:8], "big", signed=True) == registry_key:
                if not new:
                    return int.from_bytes(self._mac(base, id_number)[:8], "big", signed=True)
                shared = digest if registry_no == "G" + id_number else self._mac(base, "G" + id_number)
                return int.from_bytes(shared[8:16], "big", signed=True)
        return None


def _rekey(new) -> None:
    """Give every record with an ID number its ID key (``new``: the shared HMAC; else the number's own), one
    import at a time.  A row whose data no configured key opens, or whose registry key none made, keeps its
    key (no lookup finds it under today's keys either way) and is counted in the log."""
    secrets_ = [k.strip() for k in current_app.config["DATA_KEY"].split(",") if k.strip()]
    keys = _Keys(secrets_, (current_app.config.get("CRYPTO_SUITE") or "aes").strip().lower())
    conn = op.get_bind()
    postgres = conn.dialect.name == 'postgresql'
    if postgres:
        # Each import's new keys go to a temporary table, then one hash join of the import with them rewrites its
        # rows.  The indexes are dropped first and built again at the end: every row changes, and keeping three
        # indexes up to date row by row took twice as long as the rest.
        conn.execute(sa.text("CREATE TEMPORARY TABLE registry_rekey (line_no integer, id_key bigint)"))
        for name in INDEXES:
            op.drop_index(name, table_name='registry_records')
    else:
        op.create_index('ix_registry_records_rekey', 'registry_records', ['import_id', 'line_no'])
    imports = conn.execute(sa.text("SELECT id FROM registry_imports ORDER BY id")).scalars().all()
    kept = 0
    for import_id in imports:
        select = sa.text("SELECT line_no, registry_key, pii FROM registry_records "
                         "WHERE import_id = :i AND id_key IS NOT NULL")
        if postgres:  # a server-side cursor: a province's import does not fit in memory at once
            batches = conn.execute(select.execution_options(stream_results=True, yield_per=BATCH),
                                   {"i": import_id}).partitions()
        else:
            rows = conn.execute(select, {"i": import_id}).all()
            batches = (rows[k:k + BATCH] for k in range(0, len(rows), BATCH))
        for rows in batches:
            lines, new_keys = [], []
            for line_no, registry_key, pii in rows:
                plain = keys.open(pii)
                key = None
                if plain is not None:
                    id_number, registry_no, _ = plain.split("|")
                    key = keys.id_key(registry_key, registry_no or "G" + id_number, id_number, new)
                if key is None:
                    kept += 1
                    continue
                lines.append(line_no)
                new_keys.append(key)
            if postgres:
                conn.execute(sa.text("INSERT INTO registry_rekey SELECT * FROM unnest(CAST(:lines AS integer[]), "
                                     "CAST(:keys AS bigint[]))"), {"lines": lines, "keys": new_keys})
            elif lines:
                conn.execute(sa.text("UPDATE registry_records SET id_key = :k WHERE import_id = :i AND line_no = :l"),
                             [{"k": k, "i": import_id, "l": line_no}
                              for line_no, k in zip(lines, new_keys, strict=True)])
        if postgres:
            conn.execute(sa.text("ANALYZE registry_rekey"))
            conn.execute(sa.text("UPDATE registry_records r SET id_key = t.id_key FROM registry_rekey t "
                                 "WHERE r.import_id = :i AND r.line_no = t.line_no"), {"i": import_id})
            conn.execute(sa.text("TRUNCATE registry_rekey"))
    if postgres:
        conn.execute(sa.text("DROP TABLE registry_rekey"))
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for name, (columns, unique) in INDEXES.items():
            op.create_index(name, 'registry_records', columns, unique=unique)
    else:
        op.drop_index('ix_registry_records_rekey', table_name='registry_records')
    if kept:
        log.warning("registry records keyed under no configured key, left as they were: %d", kept)


def upgrade():
    _rekey(new=True)


def downgrade():
    _rekey(new=False)
