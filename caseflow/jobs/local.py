"""The periodic jobs in-process, for the embedded default (no Redis): the demo's deadlines chase themselves.

The same list of jobs as the RQ worker's (``schedule.periodic_jobs``) runs in a
daemon thread of the web process.  One process on the machine runs it: the
thread starts only in the process that holds an exclusive lock on a file in the
instance folder (released by the kernel when that process ends, however it
ends), so the reloader's two processes, or several gunicorn workers, never
both run it.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from croniter import croniter  # type: ignore[import-untyped]
from flask import Flask

from caseflow.jobs.schedule import Periodic, periodic_jobs

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
RETRY_SECONDS = 60.0


def wanted(app: Flask) -> bool:
    """Whether this app should run the schedule itself: no Redis, not under test, not switched off."""
    if app.config.get("REDIS_URL") or app.testing:
        return False
    setting = app.config.get("LOCAL_SCHEDULE")
    if setting is None:  # default: on for the embedded SQLite database
        return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    return bool(setting)


class LocalSchedule:
    """Runs ``periodic_jobs`` in one daemon thread, in the one process holding the lock."""

    def __init__(self, app: Flask, lock_path: Path | None = None):
        self.app = app
        self.lock_path = lock_path or Path(app.instance_path) / "schedule.lock"
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock: IO[bytes] | None = None
        self._guard = threading.Lock()
        self._next_try = 0.0
        self.runs: dict[str, int] = {}

    def acquire(self) -> bool:
        """Take the machine-wide lock without waiting; False when another process holds it."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "ab")  # noqa: SIM115 - held for the life of the schedule
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        os.set_inheritable(handle.fileno(), False)
        self._lock = handle
        return True

    def start(self) -> bool:
        """Start the thread once per process if this process gets the lock; True when it runs here.

        A process that did not get it tries again at most once a minute (the holder may have ended).
        """
        with self._guard:
            if self.thread is not None:
                return True
            if time.monotonic() < self._next_try:
                return False
            if not self.acquire():
                self._next_try = time.monotonic() + RETRY_SECONDS
                return False
            self.thread = threading.Thread(target=self._loop, name="caseflow-local-schedule", daemon=True)
            self.thread.start()
            log.info("periodic jobs run in this process (no Redis)")
            return True

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def jobs(self) -> list[Periodic]:
        return periodic_jobs(self.app)

    def _loop(self) -> None:
        jobs = self.jobs()
        now = datetime.now(UTC)
        due = {job.func.__name__: self._first(job, now) for job in jobs}
        while not self.stop.is_set():
            now = datetime.now(UTC)
            for job in jobs:
                name = job.func.__name__
                if due[name] <= now:
                    self.run(job)
                    due[name] = self._next(job, datetime.now(UTC))
            self.stop.wait(TICK_SECONDS)

    @staticmethod
    def _first(job: Periodic, now: datetime) -> datetime:
        return now if job.interval is not None else LocalSchedule._next(job, now)

    @staticmethod
    def _next(job: Periodic, after: datetime) -> datetime:
        if job.interval is not None:
            return datetime.fromtimestamp(after.timestamp() + job.interval, UTC)
        return croniter(job.cron, after).get_next(datetime)

    def run(self, job: Periodic) -> None:
        try:
            with self.app.app_context():
                job.func()
            self.runs[job.func.__name__] = self.runs.get(job.func.__name__, 0) + 1
        except Exception:  # the next run tries again; the schedule itself never dies
            log.exception("periodic job %s failed", job.func.__name__)


def init_app(app: Flask) -> None:
    """Start the in-process schedule with the first request of a served app, when it is wanted."""
    if not wanted(app):
        return
    schedule = LocalSchedule(app)
    app.extensions["local_schedule"] = schedule

    @app.before_request
    def _start_schedule() -> None:
        if schedule.thread is None:
            schedule.start()
