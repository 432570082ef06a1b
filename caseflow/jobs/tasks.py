"""RQ entry points: ids in, one domain call, idempotent."""
from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from flask import has_app_context

from caseflow.extensions import db, unit_of_work
from caseflow.models import OutboxItem
from caseflow.security.redact import redact
from caseflow.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
_app = None


def app_context():
    """An app context for a job: the current one, or one from a per-process app."""
    global _app
    if has_app_context():
        return contextlib.nullcontext()
    if _app is None:
        from caseflow import create_app

        _app = create_app()
    return _app.app_context()


def _handlers():
    from caseflow.cases.sms import deliver_sms
    from caseflow.cases.webhooks import deliver_webhook
    from caseflow.chase.notify import deliver_email_notifications
    from caseflow.documents.jobs import render_order_pdf

    return {"sms": deliver_sms, "email_notifications": deliver_email_notifications,
            "render_order_pdf": render_order_pdf, "webhook": deliver_webhook}


def deliver_outbox(item_id: int) -> str:
    """Run one outbox item exactly once: lock it, skip it if done, run it, mark it."""
    with app_context():
        query = db.select(OutboxItem).where(OutboxItem.id == item_id)
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        item = db.session.scalars(query).first()
        if item is None or item.state != "pending":
            db.session.rollback()
            return "skipped"
        try:
            with unit_of_work():
                _handlers()[item.kind](item)
                item.state, item.done_at = "done", utcnow()
            return "done"
        except Exception as exc:
            with unit_of_work():
                item = db.session.get_one(OutboxItem, item_id)
                item.attempts += 1
                item.last_error = redact(f"{type(exc).__name__}: {exc}")[:2000]
                if item.attempts >= MAX_ATTEMPTS:
                    item.state = "failed"
                else:
                    item.next_attempt_at = utcnow() + timedelta(seconds=30 * 2 ** item.attempts)
            log.warning("outbox item %s failed (attempt %s): %s", item_id, item.attempts, type(exc).__name__)
            return item.state


def scheduled_scan(today: str | None = None) -> dict:
    """Periodic: the overdue scan (reminders, overdue marks, escalations); ``today`` (ISO) back-fills."""
    from datetime import date

    from caseflow.chase.scan import run_scan

    with app_context(), unit_of_work():
        return run_scan(date.fromisoformat(today) if today else None)


def scheduled_sweep() -> int:
    """Periodic: hand outbox items whose job never ran (Redis was down) to the queue again."""
    from caseflow import jobs

    with app_context():
        return jobs.sweep()


def scheduled_cleanup() -> dict[str, int]:
    """Periodic (and ``flask cleanup``): delete what caseflow keeps only for a while: expired reject reports,
    uploads whose import ended, expired citizens' sessions."""
    from caseflow.registry.importer import expire_files
    from caseflow.security import citizen_sessions

    with app_context(), unit_of_work():
        return {**expire_files(), "citizen_sessions": citizen_sessions.sweep()}


def scheduled_monthly_report() -> int:
    """Daily: on the first working day of a month, generate every bureau's report for the last month."""
    from caseflow.chase.report import generate_due_reports
    from caseflow.timeutil import local_today

    with app_context(), unit_of_work():
        return generate_due_reports(local_today())


def scheduled_retention() -> dict:
    """Daily: anonymise the finished cases past the retention period (not those under legal hold)."""
    from caseflow import retention

    with app_context():
        return retention.run().as_dict()
