"""Rate limits (Redis, then memory when Redis is down) and 503 instead of half-written data."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench.services import PrivateRedis, free_port
from caseflow.models import Case, OutboxItem, Person
from tests.conftest import IsolatedClient
from tests.web.formdata import valid_form

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def make_app():
    """``make_app(url, **config)``: a second app (own config, own engine), its pool closed afterwards."""
    from caseflow import create_app
    from caseflow.extensions import db

    made = []

    def _make(database_url: str, **config):
        app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": database_url,
                          **config})
        app.test_client_class = IsolatedClient
        made.append(app)
        return app

    yield _make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_submissions_are_rate_limited_with_a_chinese_page(world, db, database_url, make_app):
    limited = make_app(database_url, RATELIMIT_ENABLED=True, RATE_LIMIT_SUBMIT="2 per minute")
    client = limited.test_client()
    answers = [client.post("/complaints/new", data=valid_form(token=f"tok-limit-{i:016d}",
                                                                  complainant_phone=f"1390000{i:04d}")) for i in range(3)]
    assert [r.status_code for r in answers] == [302, 302, 429]
    page = answers[2].get_data(as_text=True)
    assert "尝试次数过多" in page and "Traceback" not in page
    assert int(answers[2].headers["Retry-After"]) > 0
    assert _count(db, Case) == 2
    assert client.get("/complaints/new").status_code == 200  # reading the form is not limited


def test_rate_limits_live_in_redis_and_fall_back_to_memory_when_it_stops(world, db, database_url, make_app):
    redis = PrivateRedis().start()
    try:
        limited = make_app(database_url, RATELIMIT_ENABLED=True, REDIS_URL=redis.url, RATE_LIMIT_TRACK="3 per minute")
        client = limited.test_client()
        form = {"number": "X2026000000", "code": "WRONGCODE"}
        assert client.post("/track", data=form).status_code == 200
        from redis import Redis

        conn = Redis.from_url(redis.url)
        keys = [k.decode() for k in conn.scan_iter("*")]
        assert any("caseflow-limits" in k for k in keys), keys
        conn.close()
        redis.stop()
        # Redis gone: the limiter keeps working from memory instead of failing the page.
        codes = [client.post("/track", data=form).status_code for _ in range(4)]
        assert 500 not in codes and 503 not in codes
        assert codes[-1] == 429
    finally:
        redis.stop()


def test_unreachable_database_answers_503_with_retry_after(world, make_app):
    dead = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing", RETRY_AFTER_SECONDS=7)
    resp = dead.test_client().post("/complaints/new", data=valid_form(token="tok-dead-" + "b" * 16))
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "7"
    page = resp.get_data(as_text=True)
    assert "系统繁忙" in page and "您的数据没有丢失" in page and "Traceback" not in page


def test_connection_dropped_mid_submission_leaves_nothing_and_the_resend_stores_one_case(world, app, db, client):
    """The backend is killed (pg_terminate_backend) just before the outbox row, the last write of a submission."""
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    killed = []

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def _kill(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO outbox") and not killed:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with admin.connect() as c:
                c.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    form = valid_form(token="tok-drop-" + "c" * 16)
    try:
        resp = client.post("/complaints/new", data=form)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", _kill)
        admin.dispose()
    assert killed, "the submission never reached the outbox insert"
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    db.session.rollback()
    assert (_count(db, Case), _count(db, Person), _count(db, OutboxItem)) == (0, 0, 0)
    # The citizen presses "submit" again: one complete case.
    assert client.post("/complaints/new", data=form).status_code == 302
    assert client.post("/complaints/new", data=form).status_code == 302
    assert _count(db, Case) == 1 and _count(db, OutboxItem) >= 1
