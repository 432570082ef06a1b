"""Background work through a transactional outbox.

Operations write an :class:`OutboxItem` in the same transaction as the change
that causes it.  :func:`commit` commits, then hands the new items to RQ (or, with
no ``REDIS_URL``, runs them in-process).  If Redis is down the items stay
pending and :func:`sweep` hands them over later; delivery is idempotent.
"""
from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from flask import current_app, g, has_app_context
from werkzeug.utils import import_string

from caseflow.extensions import db
from caseflow.models import OutboxItem
from caseflow.timeutil import utcnow

log = logging.getLogger(__name__)

# The job that delivers one item, named as RQ names it; in-process mode resolves the same name.  By name,
# not by import: the outbox sits below the domain, and the tasks (which call the domain) sit above it.
DELIVER_OUTBOX = "caseflow.jobs.tasks.deliver_outbox"


def add_outbox(kind: str, **payload) -> OutboxItem:
    """Queue work to run after the current transaction commits. Payload: ids only."""
    item = OutboxItem(kind=kind, payload=payload)
    db.session.add(item)
    if has_app_context():
        g.setdefault("outbox_new", []).append(item)
    return item


def commit() -> None:
    """Commit the request's transaction, then dispatch the outbox items it wrote."""
    db.session.commit()
    items = g.pop("outbox_new", []) if has_app_context() else []
    if items:
        dispatch([item.id for item in items])


def rollback() -> None:
    """Roll back and forget the outbox items of this transaction."""
    db.session.rollback()
    if has_app_context():
        g.pop("outbox_new", None)


def redis_connection():
    """The Redis connection for RQ, or None when jobs run in-process."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def queue():
    """The RQ queue, or None in embedded mode."""
    conn = redis_connection()
    if conn is None:
        return None
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=conn)


def job_id(item_id: int) -> str:
    """The RQ job id of an outbox item (one job per item: enqueueing twice is harmless)."""
    return f"{current_app.config['RQ_QUEUE']}-outbox-{item_id}"


def dispatch(item_ids: list[int]) -> None:
    """Hand committed outbox items to RQ; if Redis is unreachable they wait for the sweeper."""
    q = queue()
    if q is None:
        deliver = import_string(DELIVER_OUTBOX)
        for item_id in item_ids:
            deliver(item_id)
        return
    try:
        for item_id in item_ids:
            q.enqueue(DELIVER_OUTBOX, item_id, job_id=job_id(item_id), retry=None, failure_ttl=7 * 86400)
    except Exception as exc:  # Redis down: nothing lost, the sweeper retries
        log.warning("outbox dispatch deferred: %s", type(exc).__name__)


def sweep(older_than_seconds: int = 30) -> int:
    """Re-dispatch pending items whose job never ran; returns how many were handed over."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    ids = db.session.scalars(
        db.select(OutboxItem.id)
        .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= utcnow(),
               OutboxItem.created_at <= cutoff)
        .order_by(OutboxItem.id)
        .limit(1000)
    ).all()
    db.session.rollback()
    if ids:
        q = queue()
        if q is not None:
            # A job id may still be known to RQ (finished or failed); remove it so enqueue runs again.
            from rq.job import Job

            for item_id in ids:
                with contextlib.suppress(Exception):  # no such job
                    Job.fetch(job_id(item_id), connection=q.connection).delete()
        dispatch(list(ids))
    return len(ids)
