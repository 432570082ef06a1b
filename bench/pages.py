"""Page bench at a province's scale: how fast each page answers at 100,000 or 1,000,000 cases.

    .venv/bin/python -m bench.pages [--cases 100000] [--runs 3] [--requests 30] [--seconds 5] [--reuse] [--keep]

Builds ``caseflow_bench_<cases>`` on the shared PostgreSQL (127.0.0.1:5432; PG_ADMIN_URL to change) with the
Alembic migrations, fills it with ``bench/province.py`` (set-based SQL), serves caseflow under gunicorn as in
production (2 sync workers, CASEFLOW_ENV=production, CSRF on, Redis db 13 of the shared server), logs in
through the real login form and measures every page the issue lists: sequential p50/p95 after a warm-up and
requests/s with 8 concurrent clients.  ``--runs`` repeats the measurement and reports medians.  Prints one
table (each figure next to its target from issue 16) and a final JSON line.  Exits non-zero only on an error:
any unexpected status (a page must answer 200, a form post 302) fails the run at once.

``--reuse`` keeps an existing database of the same size (built by an earlier run; its data key is stored in
it), ``--keep`` leaves the database behind afterwards (otherwise it is dropped).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.province import ACCOUNTS, BENCH_PASSWORD, BUSY_SCHOOL, build_province, track_case
from bench.services import LiveServer, flask_env
from bench.webclient import Answer, Browser

ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")  # no test uses db 13
CLIENTS = 8
WORKERS = 2
WARM_UP = 3
GUNICORN_TIMEOUT = 900  # s: long enough for the slowest page at 1,000,000 cases
ORDER_LINK = re.compile(r'href="(/orders/(?:HC|DB)\d{4}-\d{6})"')


@dataclass(frozen=True)
class Page:
    """One measured page: who asks, what, and the target p95 (ms) at 100,000 and 1,000,000 cases."""

    name: str
    account: str | None  # ACCOUNTS key; None for a citizen
    path: str
    target_100k: int | None
    target_1m: int | None
    post: bool = False  # the public complaint form: GET the form (not timed), POST it (timed)
    after_change: bool = False  # each timed request follows a new complaint (not timed): no cache can answer it


def pages(case_number: str, order_number: str, track_number: str, month: str) -> list[Page]:
    """Every page of issue 16's list, with its target."""
    return [
        Page("public form GET", None, "/complaints/new", None, None),
        Page("public form POST", None, "/complaints/new", 100, 100, post=True),
        Page("tracking", "citizen", f"/track/{track_number}", None, None),
        Page("inbox school", "school_officer", "/inbox", 50, 150),
        Page("inbox county", "county_officer", "/inbox", 50, 150),
        Page("cases county", "county_supervisor", "/cases", 50, 150),
        Page("cases city", "city_supervisor", "/cases", 50, 150),
        Page("cases province", "province_supervisor", "/cases", 50, 150),
        Page("search county", "county_supervisor", "/cases?q=%E7%8E%8B", 150, 150),
        Page("search city", "city_supervisor", "/cases?q=%E7%8E%8B&state=closed", 150, 150),
        Page("search province", "province_supervisor", "/cases?q=%E7%8E%8B&category=transfer", 150, 150),
        Page("dashboard county", "county_supervisor", "/dashboard", 200, 500),
        Page("dashboard city", "city_supervisor", "/dashboard", 200, 500),
        Page("dashboard province", "province_supervisor", "/dashboard", 200, 500),
        # The first request after a change computes every figure afresh (the repeats above may be cached).
        Page("dashboard county*", "county_supervisor", "/dashboard", 200, 500, after_change=True),
        Page("dashboard city*", "city_supervisor", "/dashboard", 200, 500, after_change=True),
        Page("dashboard province*", "province_supervisor", "/dashboard", 200, 500, after_change=True),
        Page("case page", "county_supervisor", f"/cases/{case_number}", 60, 60),
        Page("order page", "school_officer", f"/orders/{order_number}", 60, 60),
        Page("monthly report", "province_supervisor", f"/reports/monthly?month={month}", None, None),
    ]


# --- the database ---------------------------------------------------------------------------------------

def _admin() -> sa.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def database_url(name: str) -> str:
    return re.sub(r"/[^/]*$", "/" + name, ADMIN_URL)


def existing_key(url: str, cases: int) -> str | None:
    """The data key of a complete bench database of this size, or None."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT data_key, cases FROM bench_meta")).first()
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return row[0] if row and row[1] == cases else None


def build(name: str, cases: int, schools: int) -> tuple[str, dict]:
    """(Re)create the database, migrate it, fill it; returns its data key and the build figures."""
    from flask_migrate import upgrade

    from caseflow import create_app
    from caseflow.extensions import db

    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = database_url(name)
    data_key = secrets.token_urlsafe(32)
    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_KEY": data_key})
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        report = build_province(cases, schools=schools, verbose=True)
        db.session.execute(sa.text("CREATE TABLE bench_meta (data_key text, cases int, built_at timestamptz)"))
        db.session.execute(sa.text("INSERT INTO bench_meta VALUES (:k, :n, now())"), {"k": data_key, "n": cases})
        db.session.commit()
        filled = time.perf_counter()
        db.session.remove()
        db.engine.dispose()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    figures = {"migrate_s": round(migrated - started, 1), "fill_s": round(filled - migrated, 1),
               "vacuum_analyze_s": round(time.perf_counter() - filled, 1), "steps_s": report.seconds,
               "rows": report.counts}
    return data_key, figures


def pick_subjects() -> dict[str, str]:
    """In the current app: the case, order and tracked case the bench opens, and last month for the report."""
    from caseflow.extensions import db
    from caseflow.timeutil import local_today

    track_number, code = track_case()
    case_number = db.session.execute(sa.text("""
        SELECT c.number FROM cases c JOIN units u ON u.id = c.responsible_unit_id
        WHERE u.code = '410105' AND c.state = 'closed'
        ORDER BY EXISTS (SELECT 1 FROM case_registry_links l WHERE l.case_id = c.id) DESC, c.id DESC
        LIMIT 1""")).scalar_one()
    order_number = db.session.execute(sa.text("""
        SELECT o.number FROM orders o JOIN units u ON u.id = o.receiving_unit_id
        WHERE u.code = :busy ORDER BY o.state = 'signed' DESC, o.id DESC LIMIT 1"""),
        {"busy": BUSY_SCHOOL}).scalar_one()
    today = local_today()
    month = f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"
    return {"case": case_number, "order": order_number, "track": track_number, "code": code, "month": month}


def subjects(url: str, data_key: str) -> dict[str, str]:
    """:func:`pick_subjects` in the bench database (the tracked case's code is written there)."""
    from caseflow import create_app
    from caseflow.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_KEY": data_key})
    with app.app_context():
        picked = pick_subjects()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return picked


# --- measuring ------------------------------------------------------------------------------------------

class BenchError(RuntimeError):
    """A page answered something other than what it must: the bench stops."""


def _expect(page: Page, answer: Answer) -> Answer:
    want = 302 if page.post else 200
    if answer.status != want or (page.post and not answer.location.endswith("/complaints/receipt")):
        raise BenchError(f"{page.name}: {page.path} answered {answer.status} {answer.location} "
                         f"(expected {want}): {answer.body[:300]!r}")
    return answer


class Visitors:
    """Logged-in browsers: ``CLIENTS`` per account, made once and reused by every run."""

    def __init__(self, port: int, subject: dict[str, str]):
        self.port, self.subject = port, subject
        self.browsers: dict[tuple[str | None, int], Browser] = {}

    def get(self, account: str | None, n: int) -> Browser:
        key = (account, n)
        if key not in self.browsers:
            browser = Browser(self.port, timeout=GUNICORN_TIMEOUT)
            if account == "citizen":
                page = browser.get("/track")
                answer = browser.post("/track", {**browser.form_fields(page.body), "number": self.subject["track"],
                                                 "code": self.subject["code"]})
                if answer.status != 302 or "/track/" not in answer.location:
                    raise BenchError(f"tracking log-in answered {answer.status}: {answer.body[:300]!r}")
            elif account is not None:
                answer = browser.login(ACCOUNTS[account], BENCH_PASSWORD)
                if answer.status != 302:
                    raise BenchError(f"log-in of {ACCOUNTS[account]} answered {answer.status}: {answer.body[:300]!r}")
            self.browsers[key] = browser
        return self.browsers[key]


def _one(page: Page, browser: Browser) -> float:
    """One request of ``page`` (for the form: a GET, untimed, then the timed POST); its seconds."""
    try:
        return _request(page, browser)
    except OSError as exc:  # a timeout or a cut connection is an error like a 500
        raise BenchError(f"{page.name}: {page.path}: {type(exc).__name__} {exc}") from exc


_CHANGE = Page("a new complaint", None, "/complaints/new", None, None, post=True)


def _request(page: Page, browser: Browser) -> float:
    if page.after_change:
        _request(_CHANGE, browser.companion)
    if not page.post:
        return _expect(page, browser.get(page.path)).seconds
    from tests.web.formdata import valid_form

    form = browser.get(page.path)
    if form.status != 200:
        raise BenchError(f"{page.name}: the form answered {form.status}")
    # Each post from another complainant: the same person's same complaint again is refused as a repeat.
    phone = f"139{next(_COMPLAINANTS) % 100_000_000:08d}"
    fields = {**valid_form(school1=BUSY_SCHOOL, complainant_phone=phone), **browser.form_fields(form.body)}
    return _expect(page, browser.post(page.path, fields)).seconds


_COMPLAINANTS = itertools.count(secrets.randbelow(10_000_000))  # thread-safe enough: next() on count is atomic


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def sequential(page: Page, visitors: Visitors, requests: int, seconds: float, warm: bool) -> dict:
    """p50/p95 (ms) of one client: ``requests`` requests or ``seconds``, at least 5 (1 for a slow page).

    ``warm``: the first run warms up (up to ``WARM_UP`` requests, fewer for a slow page); the processes
    stay up between runs, so later runs are warm already.
    """
    browser = visitors.get(page.account, 0)
    first = None
    for _ in range(WARM_UP if warm else 0):
        first = _one(page, browser)
        if first > seconds:
            break
    times: list[float] = []
    least = 1 if (first or 0) > seconds else 5
    started = time.perf_counter()
    while len(times) < requests and (len(times) < least or time.perf_counter() - started < seconds):
        times.append(_one(page, browser))
        if len(times) == 1 and times[0] > seconds:
            least = 1
    return {"n": len(times), "p50": round(percentile(times, 50) * 1000), "p95": round(percentile(times, 95) * 1000)}


def concurrent(page: Page, visitors: Visitors, seconds: float) -> float:
    """Requests/s with ``CLIENTS`` clients asking back to back for ``seconds`` (in-flight requests finish)."""
    browsers = [visitors.get(page.account, n) for n in range(CLIENTS)]
    stop = threading.Event()
    done = [0] * CLIENTS
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            while not stop.is_set():
                _one(page, browsers[n])
                done[n] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(900)
    if errors:
        raise BenchError(f"{page.name} under {CLIENTS} clients: {errors[0]}") from errors[0]
    return round(sum(done) / (time.perf_counter() - started), 2)


def measure(all_pages: list[Page], visitors: Visitors, runs: int, requests: int, seconds: float, slow: float,
            log: Callable[[str], None]) -> dict[str, dict]:
    """Every page, ``runs`` times; the median of each figure over the runs."""
    raw: dict[str, list[dict]] = {p.name: [] for p in all_pages}
    for run in range(1, runs + 1):
        for page in all_pages:
            figures = sequential(page, visitors, requests, seconds, warm=run == 1)
            if figures["p50"] > slow * 1000:
                # 8 clients on 2 sync workers would take 4 requests' time and more: the throughput is
                # bounded by the workers instead (marked as a bound).
                figures["rps"], figures["rps_bound"] = round(WORKERS / (figures["p50"] / 1000), 3), True
            else:
                figures["rps"] = concurrent(page, visitors, seconds)
            raw[page.name].append(figures)
            log(f"bench: run {run}/{runs} {page.name}: p50 {figures['p50']} ms, p95 {figures['p95']} ms, "
                f"{'<= ' if figures.get('rps_bound') else ''}{figures['rps']} req/s")
    return {name: {k: statistics.median(r[k] for r in runs_) for k in ("p50", "p95", "rps")}
            | {"rps_bound": any(r.get("rps_bound") for r in runs_), "runs": runs_} for name, runs_ in raw.items()}


def table(all_pages: list[Page], results: dict[str, dict], cases: int) -> str:
    """One line a page: the medians and the p95 target of issue 16 at this size."""
    big = cases >= 1_000_000
    lines = [f"{'page':<20} {'p50 ms':>7} {'p95 ms':>7} {'target':>7} {'met':>4} {'req/s (8)':>10}"]
    for page in all_pages:
        r = results[page.name]
        target = page.target_1m if big else page.target_100k
        met = "-" if target is None else ("yes" if r["p95"] <= target else "NO")
        rps = ("<=" if r["rps_bound"] else "") + f"{r['rps']:.2f}"
        lines.append(f"{page.name:<20} {r['p50']:>7.0f} {r['p95']:>7.0f} {target or '-':>7} {met:>4} {rps:>10}")
    return "\n".join(lines)


def explain(url: str, data_key: str, page: Page, subject: dict[str, str], top: int = 3) -> list[dict]:
    """The ``top`` slowest SQL statements of one request of ``page`` (in-process), each with EXPLAIN ANALYZE."""
    from caseflow import create_app
    from caseflow.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_KEY": data_key, "WTF_CSRF_ENABLED": False})
    statements: list[tuple[float, str, object]] = []
    with app.app_context():
        engine = db.engine

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("started", []).append(time.perf_counter())

        def after(conn, cursor, statement, parameters, context, executemany):
            statements.append((time.perf_counter() - conn.info["started"].pop(), statement, parameters))

        client = app.test_client()
        if page.account == "citizen":
            client.post("/track", data={"number": subject["track"], "code": subject["code"]})
        elif page.account is not None:
            client.post("/login", data={"username": ACCOUNTS[page.account], "password": BENCH_PASSWORD})
        client.get(page.path)  # warm
        sa.event.listen(engine, "before_cursor_execute", before)
        sa.event.listen(engine, "after_cursor_execute", after)
        started = time.perf_counter()
        status = client.get(page.path).status_code
        elapsed = time.perf_counter() - started
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
        out = [{"page": page.name, "status": status, "request_ms": round(elapsed * 1000),
                "statements": len(statements), "sql_ms": round(sum(s[0] for s in statements) * 1000)}]
        for seconds, statement, parameters in sorted(statements, key=lambda s: -s[0])[:top]:
            with engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            out.append({"ms": round(seconds * 1000, 1), "sql": statement, "parameters": repr(parameters),
                        "plan": "\n".join(plan)})
        db.engine.dispose()
    return out


def machine_speed(url: str) -> dict[str, float]:
    """Two fixed pieces of work, so that figures taken on different machines (or days) can be compared: a
    Python loop of 2,000,000 additions and PostgreSQL counting 2,000,000 generated rows (ms, best of 3)."""
    def python_loop() -> None:
        total = 0
        for i in range(2_000_000):
            total += i

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            def postgres_count() -> None:
                conn.execute(sa.text("SELECT count(*) FROM generate_series(1, 2000000)")).scalar()

            return {name: round(min(_timed(work) for _ in range(3)) * 1000, 1)
                    for name, work in (("python_loop_ms", python_loop), ("postgres_count_ms", postgres_count))}
    finally:
        engine.dispose()


def _timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30, help="sequential requests per page and run (at most)")
    parser.add_argument("--seconds", type=float, default=5, help="seconds per page for the sequential part "
                                                                 "(at least 5 requests) and for the 8 clients")
    parser.add_argument("--slow", type=float, default=20,
                        help="a page slower than this (s, p50) gets no 8-client run: its req/s is bounded by "
                             "2 workers / p50 instead")
    parser.add_argument("--reuse", action="store_true", help="keep an existing database of the same size")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--explain", metavar="PAGE", action="append", default=[],
                        help="instead of measuring: the slowest SQL of this page (a name from the table, "
                             "e.g. 'dashboard province') with EXPLAIN ANALYZE; repeatable")
    args = parser.parse_args(argv)
    if args.explain:  # looks at a database built before and leaves it there
        args.reuse = args.keep = True

    def log(line: str) -> None:
        print(line, flush=True)

    name = f"caseflow_bench_{args.cases}"
    url = database_url(name)
    tmp = tempfile.mkdtemp(prefix="caseflow-bench-pages-")
    os.environ.setdefault("CASEFLOW_INSTANCE_DIR", tmp)
    data_key = existing_key(url, args.cases) if args.reuse else None
    build_figures: dict = {"reused": data_key is not None}
    server = None
    try:
        if data_key is None:
            started = time.perf_counter()
            data_key, figures = build(name, args.cases, args.schools)
            build_figures.update(figures, build_s=round(time.perf_counter() - started, 1))
            log(f"bench: built {name} in {build_figures['build_s']} s: {json.dumps(figures['rows'])}")
        subject = subjects(url, data_key)
        if args.explain:
            by_name = {p.name: p for p in pages(subject["case"], subject["order"], subject["track"], subject["month"])}
            for name_ in args.explain:
                for item in explain(url, data_key, by_name[name_], subject):
                    print(json.dumps(item, ensure_ascii=False, indent=1) if "plan" not in item else
                          f"--- {item['ms']} ms\n{item['sql']}\n{item['parameters']}\n{item['plan']}", flush=True)
            return 0
        env = flask_env(CASEFLOW_ENV="production", SECRET_KEY=secrets.token_urlsafe(32), CASEFLOW_DATA_KEY=data_key,
                        DATABASE_URL=url, REDIS_URL=BENCH_REDIS, CASEFLOW_INSTANCE_DIR=tmp,
                        CASEFLOW_RQ_QUEUE="caseflow-bench-pages",
                        # every simulated visitor comes from 127.0.0.1: limits stay on but high
                        CASEFLOW_RATE_LIMIT_SUBMIT="1000000 per minute", CASEFLOW_RATE_LIMIT_TRACK="1000000 per minute")
        # sync workers (1 thread), as in production
        server = LiveServer(env, workers=WORKERS, threads=1, log=Path(tmp) / "gunicorn.log",
                            timeout=GUNICORN_TIMEOUT).start()
        speed = machine_speed(url)
        log(f"bench: gunicorn (2 sync workers) on 127.0.0.1:{server.port}; logs in {tmp}; "
            f"load average {os.getloadavg()[0]:.1f} (the machine is shared); machine speed: "
            f"{speed['python_loop_ms']} ms for a Python loop of 2M additions, {speed['postgres_count_ms']} ms for "
            f"PostgreSQL to count 2M rows")
        all_pages = pages(subject["case"], subject["order"], subject["track"], subject["month"])
        visitors = Visitors(server.port, subject)
        results = measure(all_pages, visitors, args.runs, args.requests, args.seconds, args.slow, log)
        print(table(all_pages, results, args.cases), flush=True)
        big = args.cases >= 1_000_000
        print(json.dumps({
            "cases": args.cases, "runs": args.runs, "build": build_figures, "load_average": os.getloadavg(),
            "machine_speed": speed,
            "pages": {p.name: {"path": p.path, "p50_ms": results[p.name]["p50"], "p95_ms": results[p.name]["p95"],
                               "rps_8_clients": results[p.name]["rps"],
                               "rps_is_bound": results[p.name]["rps_bound"],
                               "target_p95_ms": p.target_1m if big else p.target_100k,
                               "runs": results[p.name]["runs"]} for p in all_pages},
        }, ensure_ascii=False), flush=True)
        return 0
    except BenchError as exc:
        print(f"bench: ERROR {exc}", file=sys.stderr, flush=True)
        if server is not None:
            print(server.log.read_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        _clear_queue()
        if not args.keep:
            admin = _admin()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _clear_queue() -> None:
    """Drop the jobs the bench's submissions queued (nobody works them) from the bench's Redis db."""
    from redis import Redis

    conn = Redis.from_url(BENCH_REDIS)
    for key in conn.scan_iter("*caseflow-bench-pages*"):
        conn.delete(key)
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
