"""Personal data never leaks: one whole journey, then every trace it left is scanned.

A citizen submits on the web form; the county accepts and sends a verification
order; the school signs and reports; the county reveals full values, prints the
order unmasked, supervises; SMS go out through a real RQ worker. Until the
reveal every page shows masks only. Then: the captured log (DEBUG), the worker's
output, every URL requested and Location header, the decoded session cookies,
the RQ jobs and Redis keys of this run, the job error column, and a ``pg_dump``
of the database must not contain the ID numbers or the phone.
"""
from __future__ import annotations

import contextlib
import logging
import re
import shutil
import subprocess
import zlib
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from caseflow.models import AuditEntry, Case, Order, OutboxItem, SmsMessage
from caseflow.security import crypto
from caseflow.security.redact import find
from tests.factories import make_id_number
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser, fresh

COMPLAINANT_ID = make_id_number("410103", date(1979, 2, 3), 517)
STUDENT_ID = make_id_number("410103", date(2016, 6, 9), 242)
PHONE = "15987654321"
REGISTRY = "G" + STUDENT_ID
SECRETS = (COMPLAINANT_ID, STUDENT_ID, PHONE)


class RecordingBrowser(Browser):
    """A browser that remembers every URL it asked for and every redirect it was given."""

    seen: list[str]
    cookies: list[str]

    def open(self, method, url, **kw):
        self.seen.append(url)
        resp = super().open(method, url, **kw)
        if "Location" in resp.headers:
            self.seen.append(resp.headers["Location"])
        self.cookies.extend(resp.headers.getlist("Set-Cookie"))
        return resp


def _browser(app, seen, user=None):
    b = RecordingBrowser.__new__(RecordingBrowser)
    b.seen, b.cookies = seen, seen
    Browser.__init__(b, app, user)
    return b


def _leaks(text: str, where: str, patterns: bool = True) -> list[str]:
    """The personal data found in ``text``: the journey's values, and (optionally) anything shaped like them."""
    found = [f"{where}: {s}" for s in SECRETS if s in text or s.lower() in text]
    if patterns:
        found += [f"{where}: pattern {text[start:end]}" for start, end, _mask in find(text)]
    return found


def _journey(app, db, world, seen):
    citizen = _browser(app, seen)
    assert citizen.get("/complaints/new").status_code == 200
    form = valid_form(complainant_id_number=COMPLAINANT_ID, complainant_phone=PHONE, student_id_number=STUDENT_ID,
                      student_registry_no=REGISTRY, token="tok-pii-scan-0001",
                      complainant_age="47", student_age="10")
    resp = citizen.post("/complaints/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    case = db.session.scalars(sa.select(Case).order_by(Case.id.desc())).first()
    assert case.complainant.phone == PHONE and case.student.registry_no == REGISTRY
    citizen.page("/complaints/receipt")
    citizen.page(f"/track/{case.number}")
    assert citizen.get(f"/track/{case.number}/receipt.pdf").status_code == 200

    county = _browser(app, seen, world.user("supervisor", "410105"))
    county.page(f"/cases?number={case.number}")
    county.act(f"/cases/{case.number}/accept", "accept", fresh(db, case).version_id)
    county.act(f"/cases/{case.number}/verify", "verify", fresh(db, case).version_id, units=["4141000001"],
               content="核实该生学籍注册情况。")
    order = db.session.scalars(sa.select(Order).where(Order.case_id == case.id)).one()
    school = _browser(app, seen, world.user("officer", "4141000001"))
    school.act(f"/orders/{order.number}/sign", "sign", fresh(db, order).version_id, acting_person="李老师")
    school.act(f"/orders/{order.number}/report", "report", fresh(db, order).version_id, verdict="true",
               text="经核实，该生在校就读，已补办学籍注册。")
    county.act(f"/orders/{order.number}/accept", "accept", fresh(db, order).version_id)
    # Masked everywhere by default: every page seen so far, before anyone reveals anything.
    pages = [citizen.page("/complaints/receipt"), citizen.page(f"/track/{case.number}"),
             county.page(f"/cases/{case.number}"), county.page(f"/orders/{order.number}"),
             school.page(f"/orders/{order.number}"), county.page("/cases"), school.page("/inbox")]
    assert not [s for s in (*SECRETS, REGISTRY) for page in pages if s in page]
    assert "159****4321" in pages[2] and COMPLAINANT_ID[:6] + "********" + COMPLAINANT_ID[-4:] in pages[2]
    for person, field in (("complainant", "id_number"), ("complainant", "phone"), ("student", "id_number")):
        resp = county.post(f"/cases/{case.number}/reveal", data={"person": person, "field": field})
        assert resp.status_code == 200
    assert PHONE in resp.get_data(as_text=True) or STUDENT_ID in resp.get_data(as_text=True)
    assert county.get(f"/orders/{order.number}/pdf?full=1").status_code == 200
    county.act(f"/cases/{case.number}/supervise", "supervise",
               fresh(db, case).version_id, unit="4141000001", content="学籍已补办。", opinion="请学校报告办理情况。")
    return case, order


RANDOM_TOKENS = {"csrf_token", "_id"}


def _sessions(app, headers: list[str]) -> list[str]:
    """The signed (readable, not encrypted) session cookies set during the journey, decoded."""
    serializer = app.session_interface.get_signing_serializer(app)
    out = []
    for header in headers:
        match = re.match(r"session=([^;]+)", header)
        if match and match.group(1):
            data = serializer.loads(match.group(1))
            # Random hex tokens (Flask-WTF's CSRF secret, Flask-Login's session id) hold digit runs shaped like a
            # landline now and then: they are no personal data, so the shape scan leaves them out.
            out.append(repr({k: ("<random token>" if k in RANDOM_TOKENS else v) for k, v in data.items()}))
    assert out, "no session cookie seen"
    return out


def _redis_traces(conn, queue_name: str, case_number: str) -> str:
    """Keys and values of this run's queue and jobs (job payloads decompressed), as text."""
    parts = []
    for key in conn.scan_iter(f"*{queue_name}*"):
        parts.append(key.decode(errors="replace"))
        kind = conn.type(key).decode()
        if kind == "string":
            values = [conn.get(key)]
        elif kind == "hash":
            values = list(conn.hgetall(key).values())
        elif kind == "list":
            values = conn.lrange(key, 0, -1)
        elif kind == "set":
            values = list(conn.smembers(key))
        elif kind == "zset":
            values = conn.zrange(key, 0, -1)
        else:
            values = []
        for value in values:
            with contextlib.suppress(zlib.error):
                value = zlib.decompress(value)
            parts.append(value.decode(errors="replace"))
    for key in conn.scan_iter(f"*{case_number}*"):
        parts.append(key.decode(errors="replace"))
    return "\n".join(parts)


def _rq_job_arguments(conn, queue_name: str) -> str:
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    q = Queue(queue_name, connection=conn)
    ids = set(q.job_ids) | set(FinishedJobRegistry(queue_name, connection=conn).get_job_ids())
    jobs = [j for j in Job.fetch_many(list(ids), connection=conn) if j is not None]
    return "\n".join(f"{j.func_name} {j.args!r} {j.kwargs!r} {j.description}" for j in jobs), len(jobs)


@pytest.mark.redis
def test_journey_leaves_no_personal_data_behind(rq_app, db, world, run_worker, caplog, database_url):
    app = rq_app
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    case, order = _journey(app, db, world, seen)

    from redis import Redis

    conn = Redis.from_url(app.config["REDIS_URL"])
    queue_name = app.config["RQ_QUEUE"]
    before_worker = _redis_traces(conn, queue_name, case.number)
    args_before, queued = _rq_job_arguments(conn, queue_name)
    assert queued >= 1  # the SMS and PDF renders went through Redis, not in-process
    proc = run_worker()
    after_worker = _redis_traces(conn, queue_name, case.number)
    args_after, _ = _rq_job_arguments(conn, queue_name)
    conn.close()

    db.session.expire_all()
    sms = db.session.scalars(sa.select(SmsMessage).where(SmsMessage.case_id == case.id)).all()
    assert sms and all(m.phone_hash == crypto.lookup_hash(PHONE) for m in sms)
    errors = "\n".join(e or "" for e in db.session.scalars(sa.select(OutboxItem.last_error)))
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.target_ref == case.number)).all()
    assert {a.action for a in audit} == {"reveal"} and all(a.subject_hash == crypto.lookup_hash(STUDENT_ID)
                                                            for a in audit)

    leaks = []
    leaks += _leaks(caplog.text, "log")
    assert "SMS to 159****4321" in caplog.text + proc.stdout + proc.stderr  # the log is there, masked
    leaks += _leaks(proc.stdout + proc.stderr, "worker output")
    leaks += _leaks("\n".join(seen + _sessions(app, seen)), "URL, Location or cookie")
    # Pickled job payloads and hashes hold arbitrary digit runs: look for the values themselves there.
    leaks += _leaks(before_worker + after_worker, "Redis", patterns=False)
    leaks += _leaks(args_before + args_after, "RQ job arguments")
    leaks += _leaks(errors, "outbox.last_error")
    leaks += _leaks(_pg_dump(database_url), "pg_dump", patterns=False)
    assert not leaks, "\n".join(leaks)


def _pg_dump(database_url: str) -> str:
    """The whole database as SQL text (data of every table, schema included)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_dump needs PostgreSQL")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    url = make_url(database_url)
    proc = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", "--no-owner", url.database],
                          capture_output=True, text=True, timeout=60, check=True)
    dump = proc.stdout
    assert "COPY public.persons" in dump and "COPY public.audit_log" in dump
    return dump


def test_dump_sees_the_rows(app, db, world, database_url):
    """The dump check is not vacuous: values that are not encrypted do show up in it."""
    from tests.factories import submit

    case, _ = submit(db)
    dump = _pg_dump(database_url)
    assert case.number in dump and "张小明" in dump
    assert not re.search(re.escape(case.student.id_number), dump)
