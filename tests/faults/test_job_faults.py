"""Redis stopped and a worker SIGKILLed mid-job: nothing lost, nothing done twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bench.services import ROOT, PrivateRedis, flask_env, wait_for
from caseflow import jobs
from caseflow.cases import operations as ops
from caseflow.documents.health import eviction_check, redis_checks
from caseflow.jobs.tasks import deliver_outbox
from caseflow.models import Case, OutboxItem, RenderedDocument, SmsMessage
from caseflow.timeutil import utcnow
from tests.factories import submit
from tests.web.formdata import valid_form
from tests.workers import SAFETY_NET_SECONDS, work_until

pytestmark = [pytest.mark.postgres]


def _count(db, model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _states(db) -> dict[str, int]:
    db.session.rollback()
    return dict(db.session.execute(sa.select(OutboxItem.state, sa.func.count()).group_by(OutboxItem.state)).all())


def test_redis_stopped_complaints_accepted_and_notifications_delivered_once_when_it_returns(
        world, db, client, private_redis):
    assert client.post("/complaints/new", data=valid_form(token="tok-before-" + "0" * 12)).status_code == 302
    private_redis.stop()  # the queued job of the first complaint is lost with it (no persistence)
    started = time.monotonic()
    for i in range(3):
        resp = client.post("/complaints/new", data=valid_form(token=f"tok-down-{i:014d}", complainant_phone=f"1390000{i:04d}"))
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        assert client.get(resp.headers["Location"]).status_code == 200  # the receipt
    assert time.monotonic() - started < 15, "a stopped Redis must not make citizens wait"
    assert _count(db, Case) == 4
    assert _count(db, OutboxItem, OutboxItem.kind == "sms") == 4
    assert _count(db, SmsMessage) == 0 and set(_states(db)) == {"pending"}

    private_redis.start()
    assert jobs.sweep(older_than_seconds=0) == _count(db, OutboxItem)
    work_until(private_redis.url, lambda: set(_states(db)) == {"done"}, "every outbox item to be delivered")
    assert set(_states(db)) == {"done"}
    assert _count(db, SmsMessage) == 4
    # A second sweep finds nothing; re-running every item (a retried job) sends nothing twice.
    assert jobs.sweep(older_than_seconds=0) == 0
    ids = db.session.scalars(sa.select(OutboxItem.id)).all()
    assert {deliver_outbox(i) for i in ids} == {"skipped"}
    assert _count(db, SmsMessage) == 4


def _order_with_pdf_job(world, db):
    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    db.session.commit()
    order = ops.issue_verification(sup, case, [world.unit("4141000001")], "请核查该生学籍注册情况。")[0]
    db.session.commit()
    item = db.session.scalars(sa.select(OutboxItem).where(OutboxItem.kind == "render_order_pdf")).one()
    return order, item


def sigkill_mid_job(what: str, redis_url: str, marker) -> None:
    """Run a worker whose ``what`` job hangs, and SIGKILL it (and its work horse) in the middle."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.faults.slow_worker", str(marker), what], cwd=ROOT,
                            env=flask_env(REDIS_URL=redis_url), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: marker.exists() and marker.read_text(), SAFETY_NET_SECONDS,
                 f"the worker to be inside the {what}")
        # The worker and its work horse (RQ puts the horse in its own session).
        os.killpg(proc.pid, signal.SIGKILL)
        os.kill(int(marker.read_text()), signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_worker_sigkilled_mid_render_the_sweeper_retries_and_one_document_is_stored(
        world, app, db, private_redis, tmp_path):
    order, item = _order_with_pdf_job(world, db)
    sigkill_mid_job("render", private_redis.url, tmp_path / "rendering")
    db.session.expire_all()
    assert db.session.get(OutboxItem, item.id).state == "pending"  # nothing half-done was committed
    assert _count(db, RenderedDocument) == 0
    from redis import Redis
    from rq.job import Job

    conn = Redis.from_url(private_redis.url)
    assert Job.fetch(jobs.job_id(item.id), connection=conn).get_status() == "started"  # abandoned
    conn.close()

    assert jobs.sweep(older_than_seconds=0) >= 1
    work_until(private_redis.url, lambda: _count(db, RenderedDocument) == 1 and set(_states(db)) == {"done"},
               "the swept render to be stored")
    db.session.expire_all()
    assert db.session.get(OutboxItem, item.id).state == "done"
    docs = db.session.scalars(sa.select(RenderedDocument)).all()
    assert len(docs) == 1 and docs[0].order_id == order.id
    pdf_dir = app.config["PDF_DIR"]
    assert os.path.getsize(os.path.join(pdf_dir, docs[0].file_name)) == docs[0].size_bytes

    # Running it again is harmless: the same item is skipped, a fresh render job keeps one document.
    assert deliver_outbox(item.id) == "skipped"
    jobs.add_outbox("render_order_pdf", order_id=order.id)
    db.session.commit()
    work_until(private_redis.url, lambda: set(_states(db)) == {"done"}, "the fresh render job to run")
    assert _count(db, RenderedDocument) == 1
    assert set(_states(db)) == {"done"}
    assert _count(db, SmsMessage) == 1  # the complaint's SMS, once


def test_worker_sigkilled_mid_import_is_reported_and_rerunning_is_harmless(
        world, db, private_redis, tmp_path):
    from caseflow.models import ImportState, RegistryImport, RegistryRecord, RegistrySource
    from caseflow.registry.importer import create_import, reap_dead_imports
    from caseflow.registry.jobs import run_import_job, start_import
    from tests.registry.helpers import student, write_csv

    extract = write_csv(tmp_path / "national.csv", [student(), student("李梅", seq=124)])
    imp = create_import(RegistrySource.NATIONAL, date(2026, 11, 1), extract)
    db.session.commit()
    start_import(imp.id)
    sigkill_mid_job("import", private_redis.url, tmp_path / "importing")

    db.session.expire_all()
    imp = db.session.get(RegistryImport, imp.id)
    # The rows were committed to a table of their own, which readers never see (it is not attached).
    assert imp.state is ImportState.LOADING and _count(db, RegistryRecord) == 0
    loaded = sa.text("SELECT count(*) FROM pg_tables WHERE tablename = :t")
    assert db.session.scalar(loaded, {"t": f"registry_records_{imp.id}"}) == 1
    # Reported: the reaper (run by the import pages and CLI) finds the loader's lock gone.
    imp.started_at = utcnow() - timedelta(minutes=1)  # the reaper leaves imports younger than 30 s alone
    db.session.commit()
    # PostgreSQL releases the killed loader's session lock once it notices the socket closed: on a busy
    # machine that can take a moment, so the reaper is asked until it finds the import dead.
    assert wait_for(reap_dead_imports, 60, "the reaper to find the killed import") == 1
    db.session.expire_all()
    imp = db.session.get(RegistryImport, imp.id)
    assert imp.state is ImportState.FAILED and "原有数据未改变" in imp.error
    assert db.session.scalar(loaded, {"t": f"registry_records_{imp.id}"}) == 0  # and the reaper dropped it
    # Running the killed job again is harmless: it does nothing.
    assert run_import_job(imp.id) is None
    assert _count(db, RegistryRecord) == 0

    # The administrator imports the file again: each record once, and a repeated job changes nothing.
    again = create_import(RegistrySource.NATIONAL, date(2026, 11, 1), extract)
    db.session.commit()
    start_import(again.id)

    def imported():
        db.session.rollback()
        return db.session.get_one(RegistryImport, again.id).state is ImportState.ACTIVE

    work_until(private_redis.url, imported, "the import to be active")
    db.session.expire_all()
    assert db.session.get(RegistryImport, again.id).state is ImportState.ACTIVE
    assert _count(db, RegistryRecord) == 2
    assert run_import_job(again.id) is None
    assert _count(db, RegistryRecord) == 2


def test_doctor_warns_when_redis_may_evict_keys(app):
    lru = PrivateRedis("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru").start()
    try:
        app.config["REDIS_URL"] = lru.url
        check = next(c for c in redis_checks() if c.name == "redis eviction")
        assert (check.ok, check.status) == (False, "warn") and "allkeys-lru" in check.detail
        result = app.test_cli_runner().invoke(args=["doctor"])
        assert "[warn] redis eviction: maxmemory-policy is allkeys-lru" in result.output
    finally:
        lru.stop()
    safe = PrivateRedis().start()
    try:
        from redis import Redis

        conn = Redis.from_url(safe.url)
        assert eviction_check(conn).ok
        conn.close()
    finally:
        safe.stop()
