"""registry: an ID number's key is bytes 8..16 of the registry HMAC of "G" + the number

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 14:00:00

Until now a registry record's ``id_key`` was the first 8 bytes of the registry HMAC of its ID number, a second
HMAC beside the one of its registry number.  Most registry numbers are "G" + the ID number, so the key of an ID
number is now bytes 8..16 of the HMAC of "G" + the number: one HMAC gives such a row both keys, and the import
does half the keyed hashing (``caseflow.security.crypto.Keyring.id_key``).  This revision re-keys the stored
records: each row's ID number is read from its sealed personal data (``pii``, "id|registry_no|phone") and keyed
again under the first key of ``CASEFLOW_DATA_KEY`` and the configured suite; the downgrade puts back the HMAC of
the number itself.  ``registry_key`` does not change (problems and case links point at it), and nothing else
stores an ID key.

The cryptography is copied here, not imported from ``caseflow``: this revision must keep doing the same when the
app's code changes.  Rows are read and written a partition (one import) at a time; at a million rows an import
takes about half a minute.
"""
import base64
import functools

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


@functools.cache  # the same few keys for every row
def _derive(secret, info, length=32, sm3=False):
    return HKDF(algorithm=hashes.SM3() if sm3 else hashes.SHA256(), length=length, salt=b"caseflow",
                info=info).derive(secret.encode())


class _Keys:
    """The token format of revisions 0011.. (``<a|s>:<key id>:base64(nonce + ciphertext + tag)``) and the
    registry HMAC of the first key under the configured suite."""

    def __init__(self, secrets_, suite):
        self.kids = {_derive(s, b"key-id", 4).hex(): s for s in secrets_}
        if suite == "aes":
            self.registry = hmac.HMAC(_derive(secrets_[0], b"registry-hmac-sha256"), hashes.SHA256())
        else:
            self.registry = hmac.HMAC(_derive(secrets_[0], b"registry-hmac-sm3", 32, sm3=True), hashes.SM3())

    def open(self, token):
        mark, kid, body = token.split(":", 2)
        raw, header, secret = base64.b64decode(body), f"{mark}:{kid}:".encode(), self.kids[kid]
        if mark == "a":
            return AESGCM(_derive(secret, b"aead-aes-256-gcm")).decrypt(raw[:12], raw[12:], header).decode()
        key = algorithms.SM4(_derive(secret, b"aead-sm4-gcm", 16, sm3=True))
        decryptor = Cipher(key, modes.GCM(raw[:12], raw[-16:])).decryptor()
        decryptor.authenticate_additional_data(header)
        return (decryptor.update(raw[12:-16]) + decryptor.finalize()).decode()

    def _mac(self, value):
        h = self.registry.copy()
        h.update(value.encode())
        return h.finalize()

    def new_id_key(self, id_number):
        return int.from_bytes(self._mac("G" + id_number)[8:16], "big", signed=True)

    def old_id_key(self, id_number):
        return int.from_bytes(self._mac(id_number)[:8], "big", signed=True)


def _rekey(key_of) -> None:
    """Give every record with an ID number the key ``key_of`` its number, one import at a time."""
    secrets_ = [k.strip() for k in current_app.config["DATA_KEY"].split(",") if k.strip()]
    keys = _Keys(secrets_, (current_app.config.get("CRYPTO_SUITE") or "aes").strip().lower())
    conn = op.get_bind()
    postgres = conn.dialect.name == 'postgresql'
    imports = conn.execute(sa.text("SELECT DISTINCT import_id FROM registry_records")).scalars().all()
    for import_id in imports:
        select = sa.text("SELECT line_no, id_key, pii FROM registry_records "
                         "WHERE import_id = :i AND id_key IS NOT NULL")
        if postgres:  # a server-side cursor: a province's import does not fit in memory at once
            batches = conn.execute(select.execution_options(stream_results=True, yield_per=BATCH),
                                   {"i": import_id}).partitions()
        else:
            rows = conn.execute(select, {"i": import_id}).all()
            batches = (rows[k:k + BATCH] for k in range(0, len(rows), BATCH))
        for rows in batches:
            lines = [line_no for line_no, _, _ in rows]
            new = [key_of(keys, keys.open(pii).split("|", 1)[0]) for _, _, pii in rows]
            if postgres:
                conn.execute(sa.text(
                    "UPDATE registry_records r SET id_key = v.k "
                    "FROM unnest(CAST(:lines AS integer[]), CAST(:keys AS bigint[])) AS v(l, k) "
                    "WHERE r.import_id = :i AND r.line_no = v.l"), {"i": import_id, "lines": lines, "keys": new})
            else:  # through the index of id_key
                conn.execute(sa.text("UPDATE registry_records SET id_key = :k "
                                     "WHERE id_key = :old AND import_id = :i AND line_no = :l"),
                             [{"k": k, "old": old, "i": import_id, "l": line_no}
                              for (line_no, old, _), k in zip(rows, new, strict=True)])


def upgrade():
    _rekey(_Keys.new_id_key)


def downgrade():
    _rekey(_Keys.old_id_key)
