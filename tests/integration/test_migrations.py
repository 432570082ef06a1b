"""Alembic is the only way the schema is made: upgrade, downgrade, and no drift from the models."""
import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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


def test_registry_keys_migration_converts_stored_records(empty_pg):
    """0008 gives existing records, and the problems pointing at them, the new 64-bit keys (and back)."""
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from caseflow.security import crypto
    from tests.factories import make_id_number

    id_number = make_id_number(seq=123)
    reg = "G" + id_number
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_pg})
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO units (id, code, name, kind, parent_id, path, directly_administered) "
                                 "VALUES (9, '000000', '教育部', 'ministry', NULL, '000000/', false), "
                                 "(1, '4100000001', '学校', 'school', 9, '000000/4100000001/', false)"))
            conn.execute(sa.text("INSERT INTO registry_imports (id, source, as_of, state, file_name, file_bytes, "
                                 "bytes_done, rows_done, rows_imported, rows_rejected, created_at) VALUES "
                                 "(5, 'national', '2026-09-30', 'active', 'n.csv', 0, 0, 1, 1, 0, now())"))
            conn.execute(sa.text("CREATE TABLE registry_records_5 PARTITION OF registry_records FOR VALUES IN (5)"))
            conn.execute(sa.text(
                "INSERT INTO registry_records (import_id, line_no, registry_no_hash, registry_no_masked, id_type, "
                "id_hash, id_masked, pii, name, sex, birth_date, school_code, school_id, status) VALUES "
                "(5, 2, :rh, 'G410105********1234', '居民身份证', :ih, '410105********1234', :pii, '张小明', 'male', "
                "'2015-03-08', '4100000001', 1, 'enrolled')"),
                {"rh": crypto.lookup_hash(reg), "ih": crypto.lookup_hash(id_number),
                 "pii": crypto.seal(f"{id_number}|{reg}|")})
            conn.execute(sa.text("INSERT INTO registry_problems (check_id, kind, school_id, registry_no_hash, detail, "
                                 "created_at) VALUES ('c', 'only_national', 1, :rh, 'x', now())"),
                         {"rh": crypto.lookup_hash(reg)})
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT registry_key, id_key FROM registry_records")).one() == (
                crypto.registry_key(reg), crypto.registry_key(id_number))
            assert conn.execute(sa.text("SELECT registry_key FROM registry_problems")).scalar() == \
                crypto.registry_key(reg)
        downgrade(revision="0007")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT registry_no_hash, id_hash FROM registry_records")).one() == (
                crypto.lookup_hash(reg), crypto.lookup_hash(id_number))
            assert conn.execute(sa.text("SELECT registry_no_hash FROM registry_problems")).scalar() == \
                crypto.lookup_hash(reg)
        db.engine.dispose()
