"""The periodic work: one list of jobs, run by RQ's cron support in ``flask --app caseflow worker``,
or in-process (caseflow.jobs.local) when there is no Redis.

RQ's ``CronScheduler.start()`` wants the main thread (signal handlers) which
the worker needs, so the same loop — enqueue what is due, save, heartbeat,
sleep — runs here in a daemon thread.  Several workers may each run it: every
scheduled job is idempotent, so a doubled enqueue does no harm.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from rq.cron import CronScheduler

from caseflow.jobs import tasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """One periodic job: every ``interval`` seconds, or at the times of a ``cron`` line (UTC)."""

    func: Callable[[], object]
    timeout: int
    interval: int | None = None
    cron: str | None = None


def periodic_jobs(app: Flask) -> list[Periodic]:
    """caseflow's periodic jobs, wherever they run (each is idempotent)."""
    return [
        Periodic(tasks.scheduled_scan, 600, interval=app.config["SCAN_INTERVAL"]),
        Periodic(tasks.scheduled_sweep, 300, interval=app.config["SWEEP_INTERVAL"]),
        Periodic(tasks.scheduled_cleanup, 600, interval=app.config["CLEANUP_INTERVAL"]),
        Periodic(tasks.scheduled_monthly_report, 1800, cron="30 1 * * *"),
        Periodic(tasks.scheduled_retention, 3600, cron="0 19 * * *"),  # 03:00 in Shanghai
    ]


def build_scheduler(app: Flask, connection) -> CronScheduler:
    """Register caseflow's periodic jobs on an RQ cron scheduler."""
    queue_name = app.config["RQ_QUEUE"]
    cron = CronScheduler(connection=connection, name=f"caseflow-{queue_name}-{time.time_ns()}")
    for job in periodic_jobs(app):
        cron.register(job.func, queue_name, interval=job.interval, cron=job.cron, job_timeout=job.timeout)
    return cron


def start_in_thread(app: Flask, connection, stop: threading.Event) -> threading.Thread:
    """Run the scheduler loop in a daemon thread until ``stop`` is set."""
    cron = build_scheduler(app, connection)

    def loop():
        cron.register_birth()
        try:
            while not stop.is_set():
                try:
                    if cron.enqueue_jobs():
                        cron.save()
                    cron.heartbeat()
                except Exception as exc:  # Redis away for a moment: try again shortly
                    log.warning("scheduler: %s", type(exc).__name__)
                stop.wait(max(1.0, min(cron.calculate_sleep_interval(), 30.0)))
        finally:
            with contextlib.suppress(Exception):
                cron.register_death()

    thread = threading.Thread(target=loop, name="caseflow-schedule", daemon=True)
    thread.start()
    return thread
