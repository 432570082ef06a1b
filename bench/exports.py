"""Benchmark the list exports on PostgreSQL: 100,000 cases (and orders) as XLSX and CSV, time and memory.

    .venv/bin/python -m bench.exports [--cases 100000]

Builds a scratch database (dropped afterwards) with a county of 100,000 cases, each with its complainant
and student (real encrypted ID numbers and phones, so masking costs what it costs), a school and a
verification order; then downloads ``/cases/export.xlsx|csv`` and ``/orders/export.xlsx|csv`` as the
county's supervisor through the whole app (log-in, access rule, audit row, streaming), reading the
response chunk by chunk.  Prints, per export, the seconds, the rows, the bytes, and the process's resident
memory before and at its peak during the download (sampled every 20 ms), also for a tenth of the rows: a
flat export needs no more memory for ten times the rows.  ``cpu_seconds`` is this process's CPU time (the
web side; PostgreSQL's share is in its own processes): on a shared machine the wall time varies with load.
"""
from __future__ import annotations

import argparse
import json
import threading
import time

import sqlalchemy as sa

from caseflow.extensions import db

PASSWORD = "bench-export-password-1"


FILL = """
INSERT INTO persons (id, name, id_number, id_number_hash, phone, phone_hash)
  SELECT g, CASE WHEN g % 2 = 0 THEN '张伟' ELSE '张小明' END, p.id_number, p.id_number_hash, p.phone, p.phone_hash
  FROM generate_series(1001, 1000 + 2 * :n) g, persons p WHERE p.id = 1;
INSERT INTO cases (id, number, access_code_hash, source, category, state, round, description,
                   complainant_id, student_id, responsible_unit_id, received_at, action_chase_level, version_id,
                   action_due_provisional, action_due_on)
  SELECT g, 'XJB-' || lpad(g::text, 7, '0'), 'x', 'web', 'unregistered', 'verifying', 1, '基准测试',
         1000 + 2 * g, 999 + 2 * g, :resp, now() - (g % 700) * interval '1 hour', 0, 1, false, :today + (g % 9)
  FROM generate_series(1, :n) g;
INSERT INTO case_schools (case_id, unit_id) SELECT g, :recv FROM generate_series(1, :n) g;
INSERT INTO orders (id, number, kind, case_id, round, issuing_unit_id, receiving_unit_id, state, content,
                    sent_at, signed_at, sign_due_on, due_on, due_provisional, chase_level, sign_chase_level,
                    version_id, acting_person)
  SELECT g, 'HCB-' || lpad(g::text, 7, '0'), 'verification', g, 1, :resp, :recv, 'signed', '基准测试', now(), now(),
         :today - 30, :today + (CASE g % 10 WHEN 0 THEN 0 WHEN 1 THEN -10 ELSE 30 END), false, 0, 2, 1, '李老师'
  FROM generate_series(1, :n) g;
"""


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _download(client, url: str) -> dict:
    """Stream one export to nowhere; seconds, bytes, and resident memory before and at the peak."""
    import gc

    gc.collect()
    before = _rss_kib()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_kib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    resp = client.get(url, buffered=False)
    size = 0
    for chunk in resp.response:
        size += len(chunk)
    resp.close()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss_kib())
    assert resp.status_code == 200, resp.status_code
    return {"url": url, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "bytes": size, "rss_before_mib": round(before / 1024, 1),
            "rss_peak_mib": round(peak[0] / 1024, 1), "rss_growth_mib": round((peak[0] - before) / 1024, 1)}


def run(n: int) -> list[dict]:
    import logging

    from flask_migrate import upgrade

    from bench.services import one_branch_tree
    from caseflow import create_app
    from caseflow.models import Person, Role, User
    from caseflow.security import crypto
    from caseflow.security.passwords import hash_password
    from caseflow.timeutil import local_today

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    logging.getLogger().setLevel(logging.WARNING)
    results = []
    with app.app_context():
        upgrade()
        units = one_branch_tree()
        db.session.add(Person(id=1, name="模板", id_number="410105201503081237", phone="13812345678",
                              id_number_hash=crypto.lookup_hash("410105201503081237"),
                              phone_hash=crypto.lookup_hash("13812345678")))
        db.session.add(User(username="bench-sup", password_hash=hash_password(PASSWORD), name="基准责任人",
                            role=Role.SUPERVISOR, unit=units["410105"]))
        db.session.commit()
        params = {"n": n, "resp": units["410105"].id, "recv": units["4141000001"].id, "today": local_today()}
        start = time.perf_counter()
        for statement in FILL.split(";"):
            if statement.strip():
                db.session.execute(sa.text(statement), params)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        fill_s = time.perf_counter() - start
        db.session.remove()
    client = app.test_client()
    with app.app_context():
        resp = client.post("/login", data={"username": "bench-sup", "password": PASSWORD})
        assert resp.status_code == 302, resp.status_code
    tenth = "number=XJB-" + "0" * (8 - len(str(n))) + "1"  # XJB-001…: a tenth of the cases (n a power of 10)
    for url in ("/cases/export.csv", "/cases/export.xlsx", "/orders/export.csv", "/orders/export.xlsx",
                f"/cases/export.xlsx?{tenth}"):
        with app.app_context():
            results.append(_download(client, url))
    print(json.dumps({"cases": n, "fill_seconds": round(fill_s, 1), "exports": results}, ensure_ascii=False,
                     indent=2))
    return results


def main() -> None:
    from bench.services import scratch_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    with scratch_database("caseflow_bench_export"):
        run(args.cases)


if __name__ == "__main__":
    main()
