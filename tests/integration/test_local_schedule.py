"""Without Redis the served app runs the periodic jobs itself, in one process (issue 20, item 28)."""
from __future__ import annotations

import subprocess
import sys
import urllib.request

from bench.services import ROOT, LiveServer, flask_env, wait_for
from caseflow.jobs.local import LocalSchedule, wanted
from caseflow.models import ChaseStep
from tests.integration.test_chase import signed_order  # noqa: F401 - the fixture


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except OSError:
        return None


def test_the_schedule_is_wanted_only_without_redis_and_by_default_on_sqlite(app):
    config = app.config
    saved = {k: config.get(k) for k in ("REDIS_URL", "LOCAL_SCHEDULE", "SQLALCHEMY_DATABASE_URI", "TESTING")}
    try:
        app.testing = False
        config.update(REDIS_URL=None, LOCAL_SCHEDULE=None, SQLALCHEMY_DATABASE_URI="sqlite:///x.db")
        assert wanted(app)
        config.update(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://h/db")
        assert not wanted(app)
        config.update(LOCAL_SCHEDULE=True)
        assert wanted(app)
        config.update(REDIS_URL="redis://127.0.0.1:6379/0")
        assert not wanted(app)
    finally:
        config.update(saved)
        app.testing = True


def test_one_process_holds_the_schedule(app, tmp_path):
    first, second = LocalSchedule(app, tmp_path / "s.lock"), LocalSchedule(app, tmp_path / "s.lock")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'ab'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(120)"), str(tmp_path / "s.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not first.acquire()  # another process has it
    finally:
        holder.kill()
        holder.communicate()
    assert first.acquire()  # the kernel released it with the process
    assert not second.acquire()
    first.close()
    assert second.acquire()
    second.close()


def test_a_served_app_without_redis_chases_its_deadlines_in_exactly_one_process(
        world, db, signed_order, database_url, tmp_path):  # noqa: F811 - the imported fixture
    """gunicorn with two workers and no Redis: the overdue order is reminded, marked and escalated once."""
    assert not db.session.scalars(db.select(ChaseStep)).all()
    env = flask_env(DATABASE_URL=database_url, CASEFLOW_LOCAL_SCHEDULE="1", CASEFLOW_SCAN_INTERVAL="1",
                    CASEFLOW_SWEEP_INTERVAL="1", CASEFLOW_INSTANCE_DIR=str(tmp_path))
    env.pop("REDIS_URL", None)
    server = LiveServer(env, workers=2, log=tmp_path / "server.log").start()
    url = f"http://127.0.0.1:{server.port}/"
    try:
        for _ in range(8):  # requests reach both workers: each tries to start the schedule
            wait_for(lambda: _get(url) == 200, 60, "the server to answer")

        def steps():
            db.session.rollback()
            return {(s.deadline, s.step) for s in db.session.scalars(db.select(ChaseStep))}

        try:
            wait_for(lambda: {("complete", "overdue"), ("complete", "escalate")} <= steps(), 90,
                     "the in-process scan to chase the overdue order")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; steps {steps()}; server log:\n"
                                 + server.log.read_text(errors="replace")[-3000:]) from None
        assert server.log.read_text().count("periodic jobs run in this process") == 1
        # A worker started beside it finds the schedule taken and says so.
        other = subprocess.run([sys.executable, "-m", "flask", "--app", "caseflow", "worker"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert other.returncode != 0 and "another process already runs the periodic jobs" in other.stderr
    finally:
        server.stop()
    rows = db.session.scalars(db.select(ChaseStep)).all()
    assert len(rows) == len({(r.order_id, r.deadline, r.step) for r in rows})  # each step exactly once


def test_worker_burst_without_redis_runs_each_periodic_job_once(world, db, signed_order, app):  # noqa: F811
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert '"scheduled_scan": 1' in result.output and '"scheduled_sweep": 1' in result.output
    db.session.rollback()
    assert db.session.scalars(db.select(ChaseStep)).all()
