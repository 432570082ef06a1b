"""Issue 20 item 1: uploaded extracts are private (0600 in a 0700 folder) and deleted when their import ends;
reject reports are private too and expire after ``REJECT_REPORT_DAYS``; the worker's schedule and
``flask cleanup`` delete what expired."""
from __future__ import annotations

import io
import json
import stat
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from caseflow.models import ImportState, RegistryImport
from caseflow.timeutil import utcnow
from tests.registry.helpers import login_as, student, write_csv


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _queue_upload(app, client, content: bytes) -> RegistryImport:
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # unreachable: the import stays queued, its file on disk
    form = {"source": "national", "as_of": "2026-11-01", "file": (io.BytesIO(content), "n.csv")}
    try:
        assert client.post("/registry/imports", data=form, content_type="multipart/form-data").status_code == 302
    finally:
        app.config["REDIS_URL"] = None
    from caseflow.extensions import db

    return db.session.scalars(sa.select(RegistryImport).order_by(RegistryImport.id.desc())).first()


def _run_queued(app) -> None:
    out = app.test_cli_runner().invoke(args=["registry", "run-queued"]).output
    assert out.strip(), out


def test_uploads_private_and_deleted_when_the_import_ends(db, world, app, client, tmp_path):
    login_as(client, world.user("admin", "410000"))
    content = write_csv(tmp_path / "n.csv", [student(), student(性别="女")]).read_bytes()
    first = _queue_upload(app, client, content)
    upload = Path(first.file_path)
    assert upload.exists() and _mode(upload) == 0o600 and _mode(upload.parent) == 0o700
    _run_queued(app)
    db.session.expire_all()
    first = db.session.get(RegistryImport, first.id)
    assert first.state is ImportState.ACTIVE and not upload.exists()
    report = Path(first.reject_report)
    assert report.exists() and _mode(report) == 0o600 and _mode(report.parent) == 0o700
    # A replacing import's file goes too; and one refused when it runs (the file turned unreadable).
    second = _queue_upload(app, client, content)
    _run_queued(app)
    third = _queue_upload(app, client, content)
    Path(third.file_path).write_bytes(b"\xff\xfe not a registry extract")
    app.test_cli_runner().invoke(args=["registry", "run-queued"])
    db.session.expire_all()
    states = {i.id: i.state for i in db.session.scalars(sa.select(RegistryImport))}
    assert states[first.id] is ImportState.REPLACED and states[second.id] is ImportState.ACTIVE
    assert states[third.id] in (ImportState.REFUSED, ImportState.FAILED)
    assert list(upload.parent.iterdir()) == []


def test_reject_reports_expire_by_the_cleanup(db, world, app, client, tmp_path):
    from caseflow.security import citizen_sessions

    login_as(client, world.user("admin", "410000"))
    imp = _queue_upload(app, client, write_csv(tmp_path / "n.csv", [student(), student(性别="女")]).read_bytes())
    _run_queued(app)
    db.session.expire_all()
    imp = db.session.get(RegistryImport, imp.id)
    report = Path(imp.reject_report)
    stale = citizen_sessions.save(None, {"track_grants": []}, timedelta(seconds=-1))
    db.session.commit()
    # Not yet expired: kept.
    out = json.loads(app.test_cli_runner().invoke(args=["cleanup"]).output.splitlines()[-1])
    assert out == {"reject_reports": 0, "uploads": 0, "citizen_sessions": 1} and report.exists()
    assert citizen_sessions.load(stale) == {}
    imp.finished_at = utcnow() - timedelta(days=app.config["REJECT_REPORT_DAYS"], minutes=1)
    db.session.commit()
    out = json.loads(app.test_cli_runner().invoke(args=["cleanup"]).output.splitlines()[-1])
    assert out["reject_reports"] == 1 and not report.exists()
    db.session.expire_all()
    assert db.session.get(RegistryImport, imp.id).reject_report is None
    assert client.get(f"/registry/imports/{imp.id}/rejects.csv").status_code == 404


def test_the_worker_schedule_runs_the_cleanup(app):
    from redis import Redis

    from caseflow.jobs.schedule import build_scheduler

    cron = build_scheduler(app, Redis.from_url("redis://127.0.0.1:6379/0"))
    assert "caseflow.jobs.tasks.scheduled_cleanup" in {job.func_name for job in cron._cron_jobs}
