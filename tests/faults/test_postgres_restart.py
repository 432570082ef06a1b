"""PostgreSQL restarted under load: brief 503s, never a half-written case, every 2xx stored.

A private cluster (never the shared server), gunicorn in front of it, eight
citizens submitting through the real form (CSRF on) while ``pg_ctl restart -m
fast`` kills every connection.  A citizen answered 503 sends the same form
again, as the page asks; the submission token makes that safe.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

from bench.reconcile import reconcile
from bench.services import LiveServer, PrivateCluster, flask_env, wait_for
from bench.webclient import Browser
from tests.web.formdata import valid_form

pytestmark = [pytest.mark.postgres]
CITIZENS = 8
NAMES = "伟芳娜敏静丽强磊军洋"


@pytest.fixture
def cluster():
    pg = PrivateCluster().init()
    pg.start()
    yield pg
    pg.destroy()


def _build(url: str, password_hash: str) -> None:
    """Schema by the migrations and the test unit tree, in the private database."""
    from flask_migrate import upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from tests.factories import build_world

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        build_world(db, password_hash)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class Citizen(threading.Thread):
    """Submits complaints until told to stop; resends the same form after a 503."""

    def __init__(self, port: int, stop: threading.Event, n: int):
        super().__init__(daemon=True)
        self.port, self.stop, self.n = port, stop, n
        self.statuses: list[int] = []
        self.accepted: set[str] = set()
        self.sent: set[str] = set()
        self.bad_503: list[str] = []

    def _until_answered(self, send):
        for _ in range(200):
            answer = send()
            self.statuses.append(answer.status)
            if answer.status != 503:
                return answer
            if not answer.headers.get("retry-after") or "系统繁忙" not in answer.body:
                self.bad_503.append(answer.body[:200])
            time.sleep(0.1)  # Retry-After says seconds; the test is impatient
        raise AssertionError("still 503 after 20 s")

    def run(self):
        i = 0
        while not self.stop.is_set():
            browser = Browser(self.port)
            page = self._until_answered(lambda b=browser: b.get("/complaints/new"))
            fields = {**valid_form(), **browser.form_fields(page.body)}
            fields["complainant_name"] = "张" + NAMES[self.n % 10] + NAMES[i % 10]
            fields["complainant_phone"] = f"139{self.n:04d}{i:04d}"  # the same person's same complaint is a repeat
            self.sent.add(fields["token"])
            answer = self._until_answered(lambda b=browser, f=fields: b.post("/complaints/new", f))
            if answer.status == 302 and answer.location.endswith("/complaints/receipt"):
                self.accepted.add(fields["token"])
            i += 1


def test_postgres_restart_under_load(cluster, password_hash):
    url = cluster.create_database("caseflow")
    _build(url, password_hash)
    server = LiveServer(flask_env(DATABASE_URL=url, CASEFLOW_RATE_LIMITS="0", CASEFLOW_ENV="development")).start()
    stop = threading.Event()
    citizens = [Citizen(server.port, stop, n) for n in range(CITIZENS)]
    try:
        for c in citizens:
            c.start()
        def accepted_count() -> int:
            return sum(len(c.accepted) for c in citizens)

        wait_for(lambda: accepted_count() >= 2 * CITIZENS, 60, "submissions before the restart")
        before = accepted_count()
        cluster.restart()
        wait_for(lambda: accepted_count() >= before + 2 * CITIZENS, 60, "submissions after the restart")
        stop.set()
        for c in citizens:
            c.join(60)
            assert not c.is_alive()
    finally:
        stop.set()
        server.stop()
    statuses = [s for c in citizens for s in c.statuses]
    accepted = set().union(*(c.accepted for c in citizens))
    sent = set().union(*(c.sent for c in citizens))
    log = server.log.read_text(errors="replace")
    assert before > 0 and len(accepted) > before, "no load before or after the restart"
    first_error = log[log.find("ERROR"):][:4000] if "ERROR" in log else ""
    assert set(statuses) <= {200, 302, 503}, (sorted(set(statuses)), str(server.log), first_error)
    assert 503 in statuses, "the restart was not noticed: no request hit the outage"
    assert not [b for c in citizens for b in c.bad_503], "a 503 without Retry-After or the Chinese page"
    assert accepted == sent, "a citizen's form was never accepted"
    assert "Traceback" not in log, (str(server.log), log[-3000:])
    figures = reconcile(url, accepted)
    assert figures["lost"] == 0 and figures["stored_not_acknowledged"] == 0, figures
    assert figures["cases"] == len(accepted), figures
    assert figures["half_written"] == 0 and figures["orphan_persons"] == 0, figures
    # Embedded jobs: each registration SMS sent once, after its commit.
    assert figures["sms_duplicated"] == 0 and figures["sms_for_unfinished_items"] == 0, figures
    os.unlink(server.log)  # kept when something failed, for reading
