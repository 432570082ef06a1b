"""Benchmark the overdue scan on PostgreSQL: 100,000 open orders, and the cost of escalated ones.

    .venv/bin/python -m bench.scan [--orders 100000]

Builds a scratch database (dropped afterwards), fills it with SQL, then times:
the first scan (a tenth are due today, a tenth long overdue), a repeat scan with
nothing left to do, and a repeat scan after adding as many already-escalated
orders again (must cost the same: the partial index leaves them out).
"""
from __future__ import annotations

import argparse
import json
import os
import time
import uuid

import sqlalchemy as sa

from caseflow.extensions import db

ADMIN = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _url(name: str) -> str:
    from caseflow.config import normalise_database_url

    return normalise_database_url(ADMIN.rsplit("/", 1)[0] + "/" + name)


FILL = """
INSERT INTO persons (id, name) SELECT g, '学生' || g FROM generate_series(1, :n) g;
INSERT INTO cases (id, number, access_code_hash, source, category, state, round, description,
                   complainant_id, student_id, responsible_unit_id, received_at, action_chase_level, version_id,
                   action_due_provisional)
  SELECT g, 'XJB-' || g, 'x', 'web', 'other', 'verifying', 1, '基准测试', g, g, :resp, now(), 0, 1, false
  FROM generate_series(1, :n) g;
INSERT INTO orders (id, number, kind, case_id, round, issuing_unit_id, receiving_unit_id, state, content,
                    sent_at, signed_at, sign_due_on, due_on, due_provisional, chase_level, sign_chase_level,
                    version_id)
  SELECT g, 'HCB-' || g, 'verification', g, 1, :resp, :recv, 'signed', '基准测试', now(), now(),
         :today - 30, :today + (CASE g % 10 WHEN 0 THEN 0 WHEN 1 THEN -10 ELSE 30 END), false, 0, 2, 1
  FROM generate_series(1, :n) g;
"""

ESCALATED = """
INSERT INTO persons (id, name) SELECT g, '学生' || g FROM generate_series(:a, :b) g;
INSERT INTO cases (id, number, access_code_hash, source, category, state, round, description,
                   complainant_id, student_id, responsible_unit_id, received_at, action_chase_level, version_id,
                   action_due_provisional)
  SELECT g, 'XJB-' || g, 'x', 'web', 'other', 'verifying', 1, '基准测试', g, g, :resp, now(), 0, 1, false
  FROM generate_series(:a, :b) g;
INSERT INTO orders (id, number, kind, case_id, round, issuing_unit_id, receiving_unit_id, state, content,
                    sent_at, signed_at, sign_due_on, due_on, due_provisional, chase_level, sign_chase_level,
                    version_id)
  SELECT g, 'HCB-' || g, 'verification', g, 1, :resp, :recv, 'signed', '基准测试', now(), now(),
         :today - 60, :today - 40, false, 3, 2, 1
  FROM generate_series(:a, :b) g;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    name = f"caseflow_bench_scan_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["DATABASE_URL"] = _url(name)
    try:
        run(args.orders)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(n: int) -> None:
    import logging

    from flask_migrate import upgrade

    from bench.services import one_branch_tree
    from caseflow import create_app
    from caseflow.chase.scan import run_scan
    from caseflow.timeutil import local_today

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        units = one_branch_tree()
        db.session.commit()
        params = {"n": n, "resp": units["410105"].id, "recv": units["4141000001"].id, "today": local_today()}
        fill_s, _ = _timed(lambda: [db.session.execute(sa.text(s), params) for s in FILL.split(";") if s.strip()])
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))

        def scan():
            counts = run_scan()
            db.session.commit()
            return counts

        first_s, first = _timed(scan)
        repeat_s, repeat = _timed(scan)
        esc = {**params, "a": n + 1, "b": 2 * n}
        for statement in ESCALATED.split(";"):
            if statement.strip():
                db.session.execute(sa.text(statement), esc)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        with_escalated_s, after = _timed(scan)
        print(json.dumps({
            "open_orders": n, "fill_seconds": round(fill_s, 2),
            "first_scan_seconds": round(first_s, 3), "first_scan_steps": first,
            "repeat_scan_seconds": round(repeat_s, 3), "repeat_scan_steps": repeat,
            "already_escalated_orders_added": n,
            "repeat_scan_with_escalated_seconds": round(with_escalated_s, 3), "steps_then": after,
        }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
