"""personal data re-sealed in the one token format; registry keys by HMAC

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 20:40:00

Earlier versions sealed people's data (``persons``, ``users.totp_secret``) with
Fernet, registry rows with AES-256-EAX (the oldest with AES-256-GCM, no header),
and keyed registry records by the first 8 bytes of an AES-CMAC.  Now every value
is a ``<suite>:<key id>:<base64>`` AEAD token (AES-256-GCM, or SM4-GCM where
``CASEFLOW_CRYPTO_SUITE=sm4``) and registry keys are a truncated HMAC (SHA-256 or
SM3).  This revision re-seals every stored value and re-keys the registry
(records, then the problems and case links that point at them) under the first
key of ``CASEFLOW_DATA_KEY`` and the configured suite; the downgrade goes back to
Fernet, header-less AES-GCM registry tokens and AES-CMAC keys.  The ``*_hash``
lookup columns are recomputed (unchanged values under the default suite); the
audit log and access codes are never rewritten (searches try every suite).

The cryptography is copied here, not imported from ``caseflow``: this revision
must keep doing the same when the app's code changes.  Rows are converted in
batches, in key order: for a province-size registry this runs for a while, once.
"""
import base64
import functools
import os

import sqlalchemy as sa
from alembic import op
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 5000
PEOPLE = {'persons': ('id_number', 'phone', 'registry_no'), 'users': ('totp_secret',)}


@functools.cache  # the same few keys for every row
def _derive(secret, info, length=32, sm3=False):
    return HKDF(algorithm=hashes.SM3() if sm3 else hashes.SHA256(), length=length, salt=b"caseflow",
                info=info).derive(secret.encode())


class _Old:
    """The formats of revision 0010: Fernet, AES-EAX / AES-GCM registry tokens, AES-CMAC keys."""

    def __init__(self, secrets_):
        self.fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(s, b"encrypt"))) for s in secrets_])
        self.lookup = _derive(secrets_[0], b"lookup-hmac")
        self.gcm = [AESGCM(_derive(s, b"bulk-aead")) for s in secrets_]
        self.eax = [_derive(s, b"bulk-eax") for s in secrets_]
        self.cmac = _derive(secrets_[0], b"registry-key")

    def open_registry(self, token):
        from Crypto.Cipher import AES  # PyCryptodome's EAX: only the tokens of these versions need it

        if token.startswith("~"):
            raw = base64.b64decode(token[1:])
            for key in self.eax:
                try:
                    return AES.new(key, AES.MODE_EAX, nonce=raw[:12], mac_len=16).decrypt_and_verify(
                        raw[12:-16], raw[-16:]).decode()
                except ValueError:
                    continue
        else:
            raw = base64.b64decode(token)
            for aead in self.gcm:
                try:
                    return aead.decrypt(raw[:12], raw[12:], None).decode()
                except InvalidTag:
                    continue
        raise RuntimeError("a registry record cannot be decrypted with the configured keys")

    def seal_registry(self, value):
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self.gcm[0].encrypt(nonce, value.encode(), None)).decode()

    def registry_key(self, value):
        if not value:
            return None
        mac = CMAC(algorithms.AES(self.cmac))
        mac.update(value.encode())
        return int.from_bytes(mac.finalize()[:8], "big", signed=True)

    def lookup_hash(self, value):
        if not value:
            return None
        h = hmac.HMAC(self.lookup, hashes.SHA256())
        h.update(value.encode())
        return h.finalize().hex()


class _New:
    """The format of revision 0011: ``<a|s>:<key id>:base64(nonce + ciphertext + tag)``, HMAC keys."""

    def __init__(self, secrets_, suite):
        self.secrets, self.suite = secrets_, suite
        self.kids = {_derive(s, b"key-id", 4).hex(): s for s in secrets_}
        first = secrets_[0]
        self.kid = _derive(first, b"key-id", 4).hex()
        if suite == "aes":
            self.mark, self.hash = "a", hashes.SHA256()
            self.lookup, self.registry = _derive(first, b"lookup-hmac"), _derive(first, b"registry-hmac-sha256")
        else:
            self.mark, self.hash = "s", hashes.SM3()
            self.lookup = _derive(first, b"lookup-hmac-sm3", 32, sm3=True)
            self.registry = _derive(first, b"registry-hmac-sm3", 32, sm3=True)

    @staticmethod
    def _cipher(secret, mark):
        if mark == "a":
            return AESGCM(_derive(secret, b"aead-aes-256-gcm"))
        return algorithms.SM4(_derive(secret, b"aead-sm4-gcm", 16, sm3=True))

    def seal(self, value):
        header = f"{self.mark}:{self.kid}:"
        cipher, nonce = self._cipher(self.secrets[0], self.mark), os.urandom(12)
        if self.mark == "a":
            raw = cipher.encrypt(nonce, value.encode(), header.encode())
        else:
            encryptor = Cipher(cipher, modes.GCM(nonce)).encryptor()
            encryptor.authenticate_additional_data(header.encode())
            raw = encryptor.update(value.encode()) + encryptor.finalize() + encryptor.tag
        return header + base64.b64encode(nonce + raw).decode()

    def open(self, token):
        mark, kid, body = token.split(":", 2)
        raw, header = base64.b64decode(body), f"{mark}:{kid}:".encode()
        cipher = self._cipher(self.kids[kid], mark)
        if mark == "a":
            return cipher.decrypt(raw[:12], raw[12:], header).decode()
        decryptor = Cipher(cipher, modes.GCM(raw[:12], raw[-16:])).decryptor()
        decryptor.authenticate_additional_data(header)
        return (decryptor.update(raw[12:-16]) + decryptor.finalize()).decode()

    def _mac(self, key, value):
        h = hmac.HMAC(key, self.hash)
        h.update(value.encode())
        return h.finalize()

    def registry_key(self, value):
        return int.from_bytes(self._mac(self.registry, value)[:8], "big", signed=True) if value else None

    def lookup_hash(self, value):
        return self._mac(self.lookup, value).hex() if value else None


def _formats():
    secrets_ = [k.strip() for k in current_app.config["DATA_KEY"].split(",") if k.strip()]
    return _Old(secrets_), _New(secrets_, current_app.config.get("CRYPTO_SUITE", "aes"))


def _people(conn, seal, open_, lookup_hash) -> None:
    """Re-seal every person's and user's encrypted column; recompute the ``*_hash`` beside it."""
    for table, columns in PEOPLE.items():
        rows = conn.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).all()
        for row in rows:
            values = {}
            for name, token in zip(columns, row[1:]):
                if token is None:
                    continue
                plain = open_(token)
                values[name] = seal(plain)
                if table == 'persons':
                    values[f"{name}_hash"] = lookup_hash(plain)
            if values:
                sets = ", ".join(f"{name} = :{name}" for name in values)
                conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), {**values, "id": row[0]})


def _registry(conn, open_, seal, key_of) -> None:
    """Re-seal and re-key every registry record; problems and links follow their record's key."""
    op.create_index('ix_registry_records_convert', 'registry_records', ['import_id', 'line_no'])
    conn.execute(sa.text("CREATE TEMPORARY TABLE registry_key_map (old BIGINT PRIMARY KEY, new BIGINT)"))
    last = (-1, -1)
    while True:
        rows = conn.execute(sa.text(
            "SELECT import_id, line_no, pii, registry_key FROM registry_records "
            "WHERE import_id > :i OR (import_id = :i AND line_no > :l) ORDER BY import_id, line_no LIMIT :n"),
            {"i": last[0], "l": last[1], "n": BATCH}).all()
        if not rows:
            break
        params, keys = [], {}
        for import_id, line_no, pii, old_key in rows:
            plain = open_(pii)
            id_number, registry_no, _ = plain.split("|")
            new_key = key_of(registry_no or "G" + id_number)
            keys[old_key] = new_key
            params.append({"p": seal(plain), "r": new_key, "k": key_of(id_number), "i": import_id, "l": line_no})
        conn.execute(sa.text("UPDATE registry_records SET pii = :p, registry_key = :r, id_key = :k "
                             "WHERE import_id = :i AND line_no = :l"), params)
        known = {old for (old,) in conn.execute(sa.text("SELECT old FROM registry_key_map WHERE old IN :olds")
                                                .bindparams(sa.bindparam("olds", expanding=True)),
                                                {"olds": list(keys)})}
        fresh = [{"o": old, "n": new} for old, new in keys.items() if old not in known]
        if fresh:
            conn.execute(sa.text("INSERT INTO registry_key_map (old, new) VALUES (:o, :n)"), fresh)
        last = (rows[-1][0], rows[-1][1])
    op.drop_index('ix_registry_records_convert', table_name='registry_records')
    for table in ('registry_problems', 'case_registry_links'):
        # A problem or link whose record is no longer stored keeps its frozen copy and loses its key.
        conn.execute(sa.text(f"UPDATE {table} SET registry_key = NULL WHERE registry_key IS NOT NULL AND "
                             f"NOT EXISTS (SELECT 1 FROM registry_key_map m WHERE m.old = {table}.registry_key)"))
        conn.execute(sa.text(f"UPDATE {table} SET registry_key = (SELECT m.new FROM registry_key_map m "
                             f"WHERE m.old = {table}.registry_key) WHERE registry_key IS NOT NULL"))
    conn.execute(sa.text("DROP TABLE registry_key_map"))


def upgrade():
    old, new = _formats()
    conn = op.get_bind()
    _people(conn, new.seal, lambda token: old.fernet.decrypt(token.encode()).decode(), new.lookup_hash)
    _registry(conn, old.open_registry, new.seal, new.registry_key)


def downgrade():
    old, new = _formats()
    conn = op.get_bind()
    _people(conn, lambda plain: old.fernet.encrypt(plain.encode()).decode(), new.open, old.lookup_hash)
    _registry(conn, new.open, old.seal_registry, old.registry_key)
