"""Test harness: a real database built by the Alembic migrations, one app per test.

PostgreSQL (and Redis) are the default; with ``CASEFLOW_REQUIRE_SERVICES=1`` or
``CI`` set, an unreachable server fails the run instead of falling back.
``CASEFLOW_TEST_DB=sqlite`` runs the quick loop on SQLite.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient


def _admin_url_default() -> str:
    """The PostgreSQL server to create test databases on: PG_ADMIN_URL, else DATABASE_URL's server."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        return re.sub(r"/[^/]*$", "/postgres", url)
    return "postgresql://postgres@127.0.0.1:5432/postgres"


# A run never touches the database named in DATABASE_URL: it creates (and drops) its own on that server.
ADMIN_URL = os.environ.get("PG_ADMIN_URL") or _admin_url_default()
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
REQUIRE = os.environ.get("CASEFLOW_REQUIRE_SERVICES") == "1" or os.environ.get("CI", "").lower() == "true"
RUN_ID = uuid.uuid4().hex[:8]

# Everything the app reads from the environment is fixed for the whole run, so
# worker and server subprocesses started by tests see the same database and keys.
_TMP = tempfile.mkdtemp(prefix="caseflow-test-")
os.environ.update({
    "CASEFLOW_INSTANCE_DIR": _TMP,
    "SECRET_KEY": "test-secret-" + RUN_ID,
    "CASEFLOW_DATA_KEY": "test-data-key-" + RUN_ID,
    "CASEFLOW_RQ_QUEUE": "caseflow-test-" + RUN_ID,
    "CASEFLOW_LOCAL_SCHEDULE": "0",  # servers started by tests never chase on their own (one test turns it on)
})
os.environ.pop("REDIS_URL", None)


def _pg_url(dbname: str) -> str:
    from caseflow.config import normalise_database_url

    return normalise_database_url(re.sub(r"/[^/]*$", "/" + dbname, ADMIN_URL))


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(_pg_url("postgres"), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def _redis_reachable() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


def pytest_configure(config):
    want_sqlite = os.environ.get("CASEFLOW_TEST_DB") == "sqlite"
    config.caseflow_pg = not want_sqlite and _postgres_reachable()
    config.caseflow_redis = not want_sqlite and _redis_reachable()
    if REQUIRE and not (config.caseflow_pg and config.caseflow_redis):
        raise pytest.UsageError(
            "PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are required "
            f"(postgres reachable: {config.caseflow_pg}, redis reachable: {config.caseflow_redis})"
        )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not config.caseflow_pg:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL not reachable (CASEFLOW_TEST_DB=sqlite?)"))
        if "redis" in item.keywords and not config.caseflow_redis:
            item.add_marker(pytest.mark.skip(reason="Redis not reachable"))


@pytest.fixture(scope="session")
def database_url(pytestconfig):
    """A fresh database for the run, schema built by ``alembic upgrade head``."""
    if pytestconfig.caseflow_pg:
        name = f"caseflow_test_{os.getpid()}_{RUN_ID}"
        admin = sa.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = _pg_url(name)
    else:
        admin, name = None, None
        url = f"sqlite:///{_TMP}/test.db"
    os.environ["DATABASE_URL"] = url
    from flask_migrate import upgrade

    from caseflow import create_app

    app = create_app({"TESTING": True})
    with app.app_context():
        upgrade()
        from caseflow.extensions import db

        db.engine.dispose()
    yield url
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


def _wipe(db) -> None:
    """Delete every row (children first); faster than TRUNCATE for tiny tables.

    On PostgreSQL the wipe runs as a replica so the append-only trigger on
    ``audit_log`` stays out of the way (the test user is a superuser); on SQLite
    the triggers are dropped and made again.
    """
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        # SQLite has no replica mode: its append-only triggers are dropped for the wipe and made again.
        triggers = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                        "AND tbl_name = 'audit_log'")).all() if conn.dialect.name == "sqlite" else []
        for name, _ in triggers:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        for _, sql in triggers:
            conn.execute(sa.text(sql))


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Otherwise requests would share the test's context: ``g`` (the logged-in user,
    caches) and the database session would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url):
    """An app bound to the test database, with in-process jobs and CSRF off for the test client."""
    from caseflow import create_app
    from caseflow.extensions import db

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        try:
            _check_summary_rows(db)
        finally:
            db.session.remove()
            _wipe(db)
            db.engine.dispose()


def _check_summary_rows(db) -> None:
    """After every test: the dashboard's summary rows and the cases' search tokens agree with the data the test
    left (whatever wrote it)."""
    from caseflow.cases import search_tokens
    from caseflow.chase import facts

    problems = facts.drift()
    if problems:
        pytest.fail("summary rows out of step with the data:\n" + "\n".join(problems), pytrace=False)
    problems = search_tokens.drift()
    if problems:
        pytest.fail("search tokens out of step with the data:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def db(app):
    from caseflow.extensions import db

    return db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash():
    """One argon2 hash shared by every test user (hashing is deliberately slow)."""
    from caseflow.security.passwords import hash_password

    return hash_password(TEST_PASSWORD)


TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture
def world(db, password_hash):
    """A small unit tree with users; see ``tests/factories.py``."""
    from tests.factories import build_world

    return build_world(db, password_hash)


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in through the real /login form."""

    def _login(user, c=None):
        c = c or client
        c.post("/logout")
        resp = c.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    return _login


@pytest.fixture
def redis_url(pytestconfig):
    if not pytestconfig.caseflow_redis:
        pytest.skip("Redis not reachable")
    return REDIS_TEST_URL


@pytest.fixture
def unique_token():
    return lambda: secrets.token_hex(16)


@pytest.fixture
def rq_app(app, redis_url):
    """The test app with jobs going through the real Redis queue of this test run."""
    from redis import Redis

    app.config["REDIS_URL"] = redis_url
    yield app
    conn = Redis.from_url(redis_url)
    for key in conn.scan_iter(f"*{app.config['RQ_QUEUE']}*"):
        conn.delete(key)
    conn.close()


@pytest.fixture
def run_worker(rq_app):
    """``run_worker()`` runs a real RQ worker process in burst mode on this run's queue."""
    import subprocess
    import sys

    def _run(timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ, REDIS_URL=rq_app.config["REDIS_URL"])
        proc = subprocess.run([sys.executable, "-m", "flask", "--app", "caseflow", "worker", "--burst"],
                              env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=os.path.dirname(os.path.dirname(__file__)))
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    return _run
