"""Alembic is the only way the schema is made: upgrade, downgrade, and no drift from the models."""
import base64
import hashlib
import hmac
import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from Crypto.Cipher import AES
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.conftest import _pg_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_pg():
    name = f"caseflow_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_and_downgrade_back(empty_pg):
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_pg})
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"cases", "orders", "units", "users", "case_events", "audit_log", "outbox"} <= tables
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_test_database_is_at_head(app, db):
    from alembic.script import ScriptDirectory
    from flask import current_app

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    assert set(current) == set(script.get_heads())
    assert os.environ["DATABASE_URL"].startswith("postgresql")


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"caseflow", info=info).derive(secret.encode())


class Legacy:
    """The formats of revisions 0006-0010, written here with ``cryptography`` and PyCryptodome directly:
    Fernet for people, AES-EAX ("~") and header-less AES-GCM registry tokens, AES-CMAC registry keys."""

    def __init__(self, secret: str) -> None:
        self.fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"encrypt")))
        self.lookup, self.eax = _derive(secret, b"lookup-hmac"), _derive(secret, b"bulk-eax")
        self.gcm, self.cmac = AESGCM(_derive(secret, b"bulk-aead")), _derive(secret, b"registry-key")

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self.lookup, value.encode(), hashlib.sha256).hexdigest()

    def registry_key(self, value: str) -> int:
        mac = CMAC(algorithms.AES(self.cmac))
        mac.update(value.encode())
        return int.from_bytes(mac.finalize()[:8], "big", signed=True)

    def seal_eax(self, value: str) -> str:
        nonce = os.urandom(12)
        cipher, tag = AES.new(self.eax, AES.MODE_EAX, nonce=nonce, mac_len=16).encrypt_and_digest(value.encode())
        return "~" + base64.b64encode(nonce + cipher + tag).decode()

    def seal_gcm(self, value: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self.gcm.encrypt(nonce, value.encode(), None)).decode()

    def open_gcm(self, token: str) -> str:
        raw = base64.b64decode(token)
        return self.gcm.decrypt(raw[:12], raw[12:], None).decode()


def _school_and_snapshot(conn) -> None:
    """A school under the ministry and an active national snapshot (import 5) with its partition."""
    conn.execute(sa.text("INSERT INTO units (id, code, name, kind, parent_id, path, directly_administered) "
                         "VALUES (9, '000000', '教育部', 'ministry', NULL, '000000/', false), "
                         "(1, '4100000001', '学校', 'school', 9, '000000/4100000001/', false)"))
    conn.execute(sa.text("INSERT INTO registry_imports (id, source, as_of, state, file_name, file_bytes, bytes_done, "
                         "rows_done, rows_imported, rows_rejected, created_at) VALUES "
                         "(5, 'national', '2026-09-30', 'active', 'n.csv', 0, 0, 1, 1, 0, now())"))
    conn.execute(sa.text("CREATE TABLE registry_records_5 PARTITION OF registry_records FOR VALUES IN (5)"))


def test_registry_keys_migration_converts_stored_records(empty_pg):
    """0008 gives existing records, and the problems pointing at them, the new 64-bit keys (and back)."""
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from tests.factories import make_id_number

    id_number = make_id_number(seq=123)
    reg = "G" + id_number
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_pg})
    legacy = Legacy(app.config["DATA_KEY"])
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as conn:
            _school_and_snapshot(conn)
            conn.execute(sa.text(
                "INSERT INTO registry_records (import_id, line_no, registry_no_hash, registry_no_masked, id_type, "
                "id_hash, id_masked, pii, name, sex, birth_date, school_code, school_id, status) VALUES "
                "(5, 2, :rh, 'G410105********1234', '居民身份证', :ih, '410105********1234', :pii, '张小明', 'male', "
                "'2015-03-08', '4100000001', 1, 'enrolled')"),
                {"rh": legacy.lookup_hash(reg), "ih": legacy.lookup_hash(id_number),
                 "pii": legacy.seal_gcm(f"{id_number}|{reg}|")})
            conn.execute(sa.text("INSERT INTO registry_problems (check_id, kind, school_id, registry_no_hash, detail, "
                                 "created_at) VALUES ('c', 'only_national', 1, :rh, 'x', now())"),
                         {"rh": legacy.lookup_hash(reg)})
        upgrade(revision="0008")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT registry_key, id_key FROM registry_records")).one() == (
                legacy.registry_key(reg), legacy.registry_key(id_number))
            assert conn.execute(sa.text("SELECT registry_key FROM registry_problems")).scalar() == \
                legacy.registry_key(reg)
        with db.engine.begin() as conn:  # a row sealed by an import between 0008 and 0011: AES-EAX
            conn.execute(sa.text("UPDATE registry_records SET pii = :pii"), {"pii": legacy.seal_eax(f"{id_number}||")})
        downgrade(revision="0007")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT registry_no_hash, id_hash FROM registry_records")).one() == (
                legacy.lookup_hash(reg), legacy.lookup_hash(id_number))
            assert conn.execute(sa.text("SELECT registry_no_hash FROM registry_problems")).scalar() == \
                legacy.lookup_hash(reg)
        db.engine.dispose()


@pytest.mark.parametrize("suite", ["aes", "sm4"])
def test_one_token_format_migration_reseals_and_rekeys_both_ways(empty_pg, suite):
    """0011 re-seals Fernet people's data and EAX/GCM registry rows in the one token format of the suite, re-keys
    the records and the problems that point at them with the suite's HMAC; the downgrade brings back the
    earlier formats, which the earlier code opens."""
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from caseflow.models import Person, RegistryImport, RegistryRecord, User
    from caseflow.registry.lookup import find, parse_query
    from tests.factories import make_id_number

    ids = [make_id_number(seq=123), make_id_number(seq=124)]
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_pg, "CRYPTO_SUITE": suite})
    legacy, keyring = Legacy(app.config["DATA_KEY"]), app.extensions["crypto"]
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as conn:
            _school_and_snapshot(conn)
            for line_no, (id_number, seal) in enumerate(zip(ids, (legacy.seal_eax, legacy.seal_gcm), strict=True), start=2):
                conn.execute(sa.text(
                    "INSERT INTO registry_records (import_id, line_no, registry_key, registry_no_masked, id_type, "
                    "id_key, id_masked, pii, name, sex, birth_date, school_code, school_id, status) VALUES "
                    "(5, :l, :r, :rm, '居民身份证', :k, :m, :pii, '张小明', 'male', '2015-03-08', '4100000001', 1, "
                    "'enrolled')"),
                    {"l": line_no, "r": legacy.registry_key("G" + id_number), "k": legacy.registry_key(id_number),
                     "rm": "G" + id_number[:6] + "********" + id_number[-4:],
                     "m": id_number[:6] + "********" + id_number[-4:], "pii": seal(f"{id_number}||13812345678")})
            conn.execute(sa.text("INSERT INTO registry_problems (check_id, kind, school_id, registry_key, detail, "
                                 "created_at) VALUES ('c', 'only_national', 1, :r, 'x', now()), "
                                 "('c', 'only_national', 1, 12345, 'its record is gone', now())"),
                         {"r": legacy.registry_key("G" + ids[0])})
            fernet = {v: legacy.fernet.encrypt(v.encode()).decode() for v in (ids[0], "13812345678", "G" + ids[0])}
            conn.execute(sa.text("INSERT INTO persons (id, name, id_number, id_number_hash, phone, phone_hash, "
                                 "registry_no, registry_no_hash) VALUES (1, '张小明', :i, :ih, :p, :ph, :r, :rh)"),
                         {"i": fernet[ids[0]], "ih": legacy.lookup_hash(ids[0]), "p": fernet["13812345678"],
                          "ph": legacy.lookup_hash("13812345678"), "r": fernet["G" + ids[0]],
                          "rh": legacy.lookup_hash("G" + ids[0])})
            conn.execute(sa.text("INSERT INTO users (id, username, password_hash, name, role, unit_id, active, "
                                 "session_version, created_at, totp_secret) VALUES (1, 'u', 'x', 'u', 'admin', 9, "
                                 "true, 1, now(), :t)"), {"t": legacy.fernet.encrypt(b"JBSWY3DPEHPK3PXP").decode()})
        upgrade()
        mark = {"aes": "a:", "sm4": "s:"}[suite]
        db.session.expire_all()
        person = db.session.get(Person, 1)
        assert (person.id_number, person.phone, person.registry_no) == (ids[0], "13812345678", "G" + ids[0])
        assert person.id_number_hash == keyring.lookup_hash(ids[0])
        assert person.registry_no_hash == keyring.lookup_hash("G" + ids[0])
        assert db.session.get(User, 1).totp_secret == "JBSWY3DPEHPK3PXP"
        records = db.session.scalars(sa.select(RegistryRecord).order_by(RegistryRecord.line_no)).all()
        for record, id_number in zip(records, ids, strict=True):
            assert record.pii.startswith(mark) and keyring.decrypt(record.pii) == f"{id_number}||13812345678"
            assert (record.registry_key, record.id_key) == (keyring.registry_key("G" + id_number),
                                                            keyring.id_key(id_number))
        with db.engine.connect() as conn:
            raw = conn.execute(sa.text("SELECT id_number, phone, registry_no FROM persons")).one()
            assert all(token.startswith(mark) for token in raw)
            assert conn.execute(sa.text("SELECT registry_key FROM registry_problems ORDER BY id")).scalars().all() \
                == [keyring.registry_key("G" + ids[0]), None]
        found = find(parse_query(id_number=ids[1]), [db.session.get(RegistryImport, 5)])
        assert [f.line_no for f in found] == [3]
        db.session.remove()

        downgrade(revision="0010")
        with db.engine.connect() as conn:
            i, ih, p, ph, r, rh = conn.execute(sa.text(
                "SELECT id_number, id_number_hash, phone, phone_hash, registry_no, registry_no_hash FROM persons")).one()
            assert [legacy.fernet.decrypt(t.encode()).decode() for t in (i, p, r)] == [ids[0], "13812345678",
                                                                                      "G" + ids[0]]
            assert (ih, ph, rh) == (legacy.lookup_hash(ids[0]), legacy.lookup_hash("13812345678"),
                                    legacy.lookup_hash("G" + ids[0]))
            totp = conn.execute(sa.text("SELECT totp_secret FROM users")).scalar()
            assert legacy.fernet.decrypt(totp.encode()) == b"JBSWY3DPEHPK3PXP"
            rows = conn.execute(sa.text("SELECT registry_key, id_key, pii FROM registry_records ORDER BY line_no")).all()
            assert [(k, i_, legacy.open_gcm(t)) for k, i_, t in rows] == [
                (legacy.registry_key("G" + n), legacy.registry_key(n), f"{n}||13812345678") for n in ids]
            assert conn.execute(sa.text("SELECT registry_key FROM registry_problems ORDER BY id")).scalars().all() \
                == [legacy.registry_key("G" + ids[0]), None]
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_staff_phones_migration_seals_and_opens_both_ways(empty_pg, tmp_path, backend):
    """Issue 20 item 2: revision 0014 seals officials' phones (with keyed hashes) and the downgrade opens them."""
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from caseflow.security import crypto

    url = empty_pg if backend == "postgresql" else f"sqlite:///{tmp_path / 'm.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO units (id, code, name, kind, parent_id, path, directly_administered) "
                                 "VALUES (9, '000000', '教育部', 'ministry', NULL, '000000/', false)"))
            conn.execute(sa.text(
                "INSERT INTO users (id, username, password_hash, name, role, unit_id, phone, active, "
                "session_version, created_at) VALUES (1, 'u', 'x', '王', 'officer', 9, '13912345678', true, 1, "
                "CURRENT_TIMESTAMP), (2, 'v', 'x', '李', 'officer', 9, NULL, true, 1, CURRENT_TIMESTAMP)"))
        upgrade(revision="0014")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT phone, phone_hash FROM users ORDER BY id")).all()
        (token, digest), (empty, no_hash) = rows
        assert token.startswith("a:") and "13912345678" not in token and empty is None and no_hash is None
        assert crypto.decrypt(token) == "13912345678" and digest == crypto.lookup_hash("13912345678")
        downgrade(revision="0011")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT phone FROM users ORDER BY id")).scalars().all() == [
                "13912345678", None]
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_id_keys_migration_rekeys_stored_records_both_ways(empty_pg, tmp_path, backend):
    """0028 gives each stored record with an ID number the key of the shared HMAC (read from its sealed data, under
    either suite's token), under the key that made its registry key (a snapshot imported before a key change keeps
    its older key for both), finds it by ID number and registry number afterwards, and the downgrade puts back the
    HMAC of the number itself; registry keys, records without an ID number and records no configured key opens
    stay as they were."""
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from caseflow.models import RegistryImport
    from caseflow.registry.lookup import find, parse_query
    from caseflow.security.crypto import Keyring
    from tests.factories import make_id_number

    url = empty_pg if backend == "postgresql" else f"sqlite:///{tmp_path / 'm.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CRYPTO_SUITE": "sm4",
                      "DATA_KEY": "the-current-secret-of-the-test,an-older-secret-of-the-test"})
    keyring = app.extensions["crypto"]
    other_suite = Keyring("the-current-secret-of-the-test", "aes")  # sealed before the deployment changed suite
    older = Keyring("an-older-secret-of-the-test", "aes")  # a snapshot imported before the key and suite changed
    gone = Keyring("a-secret-no-longer-configured")
    ids = [make_id_number(seq=seq) for seq in (123, 124, 125, 126)]
    rows = [  # line, registry number, ID number, sealed by, keyed by
        (2, "G" + ids[0], ids[0], keyring, keyring), (3, "J" + ids[1], ids[1], other_suite, keyring),
        (4, "L123456789012345678", "", keyring, keyring), (5, "G" + ids[2], ids[2], older, older),
        (6, "G" + ids[3], ids[3], gone, gone)]
    with app.app_context():
        upgrade(revision="0027")
        with db.engine.begin() as conn:
            if backend == "postgresql":
                _school_and_snapshot(conn)
            else:
                conn.execute(sa.text(
                    "INSERT INTO units (id, code, name, kind, parent_id, path, directly_administered) VALUES "
                    "(9, '000000', '教育部', 'ministry', NULL, '000000/', 0), "
                    "(1, '4100000001', '学校', 'school', 9, '000000/4100000001/', 0)"))
                conn.execute(sa.text(
                    "INSERT INTO registry_imports (id, source, as_of, state, file_name, file_bytes, bytes_done, "
                    "rows_done, rows_imported, rows_rejected, created_at) VALUES "
                    "(5, 'national', '2026-09-30', 'active', 'n.csv', 0, 0, 5, 5, 0, CURRENT_TIMESTAMP)"))
            for line_no, reg, id_number, sealer, keyer in rows:
                conn.execute(sa.text(
                    "INSERT INTO registry_records (import_id, line_no, registry_key, registry_no_masked, id_type, "
                    "id_key, id_masked, pii, name, sex, birth_date, school_code, school_id, status) VALUES "
                    "(5, :l, :r, :rm, '居民身份证', :k, :m, :pii, '张小明', 'male', '2015-03-08', '4100000001', 1, "
                    "'enrolled')"),
                    {"l": line_no, "r": keyer.registry_key(reg), "k": keyer.registry_key(id_number),
                     "rm": reg[:7] + "********" + reg[-4:], "m": id_number[:6] + "********" + id_number[-4:] or None,
                     "pii": sealer.encrypt(f"{id_number}|{'' if reg == 'G' + id_number else reg}|")})

        def stored():
            with db.engine.connect() as conn:
                return conn.execute(sa.text("SELECT line_no, registry_key, id_key FROM registry_records "
                                            "ORDER BY line_no")).all()

        upgrade()
        assert stored() == [(line_no, keyer.registry_key(reg), (gone.registry_key if keyer is gone else keyer.id_key)(
            id_number)) for line_no, reg, id_number, _, keyer in rows]
        snapshot = [db.session.get(RegistryImport, 5)]
        assert [f.line_no for f in find(parse_query(id_number=ids[1]), snapshot)] == [3]
        assert [f.line_no for f in find(parse_query(registry_no="G" + ids[0]), snapshot)] == [2]
        db.session.remove()
        downgrade(revision="0027")
        assert stored() == [(line_no, keyer.registry_key(reg), keyer.registry_key(id_number))
                            for line_no, reg, id_number, _, keyer in rows]
        db.engine.dispose()
