"""The periodic work, on RQ's own cron support, run by ``flask --app caseflow worker``.

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

from flask import Flask
from rq.cron import CronScheduler

from caseflow.jobs import tasks

log = logging.getLogger(__name__)


def build_scheduler(app: Flask, connection) -> CronScheduler:
    """Register caseflow's periodic jobs on an RQ cron scheduler."""
    queue_name = app.config["RQ_QUEUE"]
    cron = CronScheduler(connection=connection, name=f"caseflow-{queue_name}-{time.time_ns()}")
    cron.register(tasks.scheduled_scan, queue_name, interval=app.config["SCAN_INTERVAL"], job_timeout=600)
    cron.register(tasks.scheduled_sweep, queue_name, interval=app.config["SWEEP_INTERVAL"], job_timeout=300)
    cron.register(tasks.scheduled_cleanup, queue_name, interval=app.config["CLEANUP_INTERVAL"], job_timeout=600)
    monthly = getattr(tasks, "scheduled_monthly_report", None)
    if monthly is not None:
        cron.register(monthly, queue_name, cron="30 1 * * *", job_timeout=1800)
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
