"""Load bench with injected faults: nothing lost, nothing doubled, pages fast.

    .venv/bin/python -m bench.load [--seconds 120] [--citizens 50] [--officials 20]

Starts everything it needs, privately, on free loopback ports (the shared
PostgreSQL and Redis are never touched): a PostgreSQL cluster in a temp dir,
a redis-server, gunicorn serving caseflow, and an RQ worker with the periodic
sweeper.  Then for ``--seconds``:

* citizens fill in the complaint form (every fifth with a 2 MB PDF attached),
  read their receipt, look at the tracking page, think 1–3 s, start again;
  a citizen answered 503 or cut off sends the same form again, as the page asks;
* officials log in and work their inboxes: inbox, case list, a case, and
  accept it when it is still waiting;
* at 25 % of the run Redis is stopped for 20 s; at 60 % the worker (and the
  job it is running) is SIGKILLed and a new one started.

Afterwards it waits for the sweeper to deliver what waited in the outbox and
reconciles with the database.  It prints requests/s, p50/p95 latency of pages
and of submissions, errors by kind and window, and the reconciliation, and
exits non-zero when a target is missed: 0 lost, 0 duplicated, 0 5xx outside
the outage windows, p95 <= 500 ms for pages.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.reconcile import reconcile
from bench.services import ROOT, LiveServer, PrivateCluster, PrivateRedis, flask_env
from bench.webclient import Browser

PASSWORD = "bench-password-2026"
SCHOOLS = ("4141000001", "4141000002", "4141000003")
OFFICIALS = ("supervisor-410105", "officer-410105", "supervisor-410103", "officer-410103", "supervisor-410100",
             "officer-410100", "officer-4141000001", "officer-4141000003")
NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
REDIS_DOWN_SECONDS = 20
ROUTE = re.compile(r"XJ\d{4}-\d{6}")
GRACE = 5  # seconds after an outage still counted as part of it


def pdf_of(size: int) -> bytes:
    """A file whose content is a PDF (the upload check looks at the content, not the name)."""
    head = b"%PDF-1.4\n% caseflow bench attachment\n"
    return head + b"0" * (size - len(head) - 6) + b"\n%%EOF"


ATTACHMENT = pdf_of(2 * 1024 * 1024)


@dataclass
class Record:
    at: float
    kind: str  # page | submit | action | login
    path: str  # the route, numbers replaced: /cases/<number>
    outcome: str  # HTTP status or exception name
    seconds: float


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    records: list[Record] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    sent: set[str] = field(default_factory=set)
    windows: list[tuple[str, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def now(self) -> float:
        return time.monotonic() - self.started

    def call(self, kind: str, send, *args):
        """``send(*args)`` one request and record its outcome; connection errors are outcomes too."""
        at = self.now()
        path = ROUTE.sub("<number>", args[0].split("?")[0]) if args and args[0].startswith("/") else "/login"
        started = time.perf_counter()
        try:
            answer = send(*args)
        except OSError as exc:
            self._add(Record(at, kind, path, type(exc).__name__, time.perf_counter() - started))
            return None
        self._add(Record(at, kind, path, str(answer.status), answer.seconds))
        return answer

    def _add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def think(self) -> None:
        self.stop.wait(random.uniform(1.0, 3.0))


def complaint(n: int, i: int) -> dict:
    from tests.web.formdata import valid_form

    return valid_form(complainant_name="张" + NAMES[n % len(NAMES)] + NAMES[i % len(NAMES)],
                      school1=SCHOOLS[(n + i) % len(SCHOOLS)])


def citizen(run: Run, port: int, n: int) -> None:
    i = 0
    run.stop.wait(random.uniform(0, 3))
    while not run.stop.is_set():
        browser = Browser(port, timeout=60)
        page = run.call("page", browser.get, "/complaints/new")
        if page is None or page.status != 200:
            run.stop.wait(1)
            continue
        fields = {**complaint(n, i), **browser.form_fields(page.body)}
        files = [("attachments", "证明材料.pdf", ATTACHMENT)] if i % 5 == n % 5 else None
        with run.lock:
            run.sent.add(fields["token"])
        for _ in range(60):  # the same form again after a 503 or a cut connection
            answer = run.call("submit", browser.post, "/complaints/new", fields, files)
            if answer is not None and answer.status != 503:
                break
            run.stop.wait(1)
        if answer is not None and answer.status == 302 and answer.location.endswith("/complaints/receipt"):
            with run.lock:
                run.accepted.add(fields["token"])
            receipt = run.call("page", browser.get, "/complaints/receipt")
            number = re.search(r"XJ\d{4}-\d{6}", receipt.body if receipt else "")
            if number:
                run.call("page", browser.get, f"/track/{number.group(0)}")
        i += 1
        run.think()


ACCEPT = re.compile(r'<form[^>]*action="(/cases/[^"/]+/accept)"(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input[^>]*name="((?:\w+-)?(?:csrf_token|version))"[^>]*value="([^"]*)"')  # prefixed forms
CASE_LINK = re.compile(r'href="(/cases/XJ\d{4}-\d{6})"')


def official(run: Run, port: int, username: str) -> None:
    run.stop.wait(random.uniform(0, 3))
    browser = Browser(port, timeout=60)
    while not run.stop.is_set():
        answer = run.call("login", browser.login, username, PASSWORD)
        if answer is not None and answer.status == 302:
            break
        run.stop.wait(2)
    while not run.stop.is_set():
        run.call("page", browser.get, "/inbox")
        listing = run.call("page", browser.get, "/cases?state=submitted")
        links = CASE_LINK.findall(listing.body) if listing is not None and listing.status == 200 else []
        if links:
            case = run.call("page", browser.get, random.choice(links[:10]))
            form = ACCEPT.search(case.body) if case is not None and case.status == 200 else None
            if form:
                fields = dict(HIDDEN.findall(form.group(2)))
                run.call("action", browser.post, form.group(1), fields)
        run.think()


def build(url: str) -> None:
    """Schema by the migrations, and the unit tree with its users (tests/factories.py)."""
    from flask_migrate import upgrade

    from caseflow import create_app
    from caseflow.extensions import db
    from caseflow.security.passwords import hash_password
    from tests.factories import build_world

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        build_world(db, hash_password(PASSWORD))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class Worker:
    """``flask worker`` (RQ plus the schedule thread with the outbox sweeper)."""

    def __init__(self, env: dict, log):
        self.env, self.log = env, log
        self.proc = self.start()

    def start(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "caseflow", "worker"], cwd=ROOT,
                                env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the worker and its work horses (RQ gives each horse its own session)."""
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def drain(url: str, run: Run, stall: float = 60) -> float | None:
    """Wait while the worker works off the outbox backlog; give up after ``stall`` s without progress."""
    started = last_progress = time.monotonic()
    pending = None
    while True:
        now_pending = reconcile(url, run.accepted)["sms_pending"]
        if now_pending == 0:
            return round(time.monotonic() - started, 1)
        if pending is None or now_pending < pending:
            pending, last_progress = now_pending, time.monotonic()
        elif time.monotonic() - last_progress > stall:
            print(f"bench: outbox stuck at {pending} pending item(s)", flush=True)
            return None
        time.sleep(2)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def summarise(run: Run, seconds: float, figures: dict) -> dict:
    def in_window(at: float) -> str | None:
        return next((name for name, start, end in run.windows if start <= at <= end + GRACE), None)

    ms = {kind: [r.seconds * 1000 for r in run.records if r.kind == kind and r.outcome[0] in "23"]
          for kind in ("page", "submit", "action", "login")}
    by_path: dict[str, list[float]] = {}
    for r in run.records:
        if r.kind == "page" and r.outcome[0] in "23":
            by_path.setdefault(r.path, []).append(r.seconds * 1000)
    errors = Counter()
    for r in run.records:
        if r.outcome[0] not in "23":
            errors[f"{r.kind} {r.outcome} " + (f"during {in_window(r.at)}" if in_window(r.at) else "outside outages")] += 1
    server_errors_outside = sum(n for k, n in errors.items() if "outside" in k and not k.split()[1].startswith("4"))
    return {
        "seconds": round(seconds, 1),
        "requests": len(run.records),
        "requests_per_second": round(len(run.records) / seconds, 1),
        "latency_ms": {kind: {"count": len(v), "p50": round(percentile(v, 50)), "p95": round(percentile(v, 95))}
                       for kind, v in ms.items()},
        "page_latency_ms": {path: {"count": len(v), "p50": round(percentile(v, 50)), "p95": round(percentile(v, 95))}
                            for path, v in sorted(by_path.items())},
        "errors": dict(sorted(errors.items())),
        "load_average": os.getloadavg(),
        "windows": [(name, round(s, 1), round(e, 1)) for name, s, e in run.windows],
        "forms_sent": len(run.sent),
        "reconciliation": figures,
        "targets": {
            "lost": figures["lost"] == 0 and figures["half_written"] == 0,
            "duplicated": figures["stored_not_acknowledged"] == 0 and figures["sms_duplicated"] == 0,
            "sms_delivered": figures["sms_sent"] == figures["sms_items"] and figures["sms_pending"] == 0,
            "no_5xx_outside_outages": server_errors_outside == 0,
            "pages_p95_le_500ms": percentile(ms["page"], 95) <= 500,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--officials", type=int, default=20)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="caseflow-bench-")
    env = flask_env(CASEFLOW_INSTANCE_DIR=tmp, SECRET_KEY=secrets.token_urlsafe(32),
                    CASEFLOW_DATA_KEY=secrets.token_urlsafe(32), CASEFLOW_RQ_QUEUE="caseflow-bench",
                    CASEFLOW_ENV="development", CASEFLOW_SWEEP_INTERVAL="5", CASEFLOW_SCAN_INTERVAL="3600",
                    # Every simulated citizen comes from 127.0.0.1: limits stay on (Redis, then memory) but high.
                    CASEFLOW_RATE_LIMIT_SUBMIT="100000 per minute", CASEFLOW_RATE_LIMIT_TRACK="100000 per minute")
    os.environ.update({k: env[k] for k in ("CASEFLOW_INSTANCE_DIR", "SECRET_KEY", "CASEFLOW_DATA_KEY")})
    cluster, redis, server, worker = PrivateCluster().init(), PrivateRedis(), None, None
    log = open(os.path.join(tmp, "services.log"), "ab")  # noqa: SIM115 - open for the whole run
    try:
        cluster.start()
        url = cluster.create_database("caseflow_bench")
        build(url)
        redis.start()
        env.update(DATABASE_URL=url, REDIS_URL=redis.url)
        server = LiveServer(env, workers=args.gunicorn_workers, threads=8,
                            log=Path(tmp) / "gunicorn.log").start()
        worker = Worker(env, log)
        print(f"bench: gunicorn on 127.0.0.1:{server.port}, {args.citizens} citizens, {args.officials} officials, "
              f"{args.seconds} s; logs in {tmp}", flush=True)

        run = Run()
        threads = [threading.Thread(target=citizen, args=(run, server.port, n), daemon=True)
                   for n in range(args.citizens)]
        threads += [threading.Thread(target=official, args=(run, server.port, OFFICIALS[n % len(OFFICIALS)]),
                                     daemon=True) for n in range(args.officials)]
        for t in threads:
            t.start()
        redis_at, kill_at = args.seconds * 0.25, args.seconds * 0.6
        run.stop.wait(redis_at)
        start = run.now()
        redis.stop()
        print(f"bench: {start:.0f} s redis stopped", flush=True)
        run.stop.wait(REDIS_DOWN_SECONDS)
        redis.start()
        run.windows.append(("redis stopped", start, run.now()))
        print(f"bench: {run.now():.0f} s redis started again", flush=True)
        run.stop.wait(max(0.0, kill_at - run.now()))
        start = run.now()
        worker.kill()
        worker.proc = worker.start()
        run.windows.append(("worker killed", start, run.now()))
        print(f"bench: {start:.0f} s worker SIGKILLed and restarted", flush=True)
        run.stop.wait(max(0.0, args.seconds - run.now()))
        run.stop.set()
        elapsed = run.now()
        for t in threads:
            t.join(90)
        print(f"bench: load over after {elapsed:.0f} s; waiting for the outbox to drain", flush=True)

        drain_seconds = drain(url, run)
        result = summarise(run, elapsed, reconcile(url, run.accepted))
        result["outbox_drained_after_s"] = drain_seconds
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0 if all(result["targets"].values()) else 1
    finally:
        for service in (server, worker):
            if service is not None:
                service.stop()
        redis.stop()
        cluster.destroy()
        log.close()
        shutil.rmtree(os.path.join(tmp, "uploads"), ignore_errors=True)  # megabytes of bench PDFs


if __name__ == "__main__":
    sys.exit(main())
