"""Background work through a transactional outbox.

Operations write an :class:`OutboxItem` in the same transaction as the change
that causes it.  Whoever commits (``caseflow.extensions.unit_of_work`` or a plain
``db.session.commit()``), the session's ``after_commit`` event hands the new items
to RQ (or, with no ``REDIS_URL``, runs them in-process); a rollback forgets them.
If Redis is down the items stay pending and :func:`sweep` hands them over later;
delivery is idempotent.
"""
from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from caseflow.extensions import db
from caseflow.models import OutboxItem
from caseflow.timeutil import utcnow

log = logging.getLogger(__name__)

# The job that delivers one item, named as RQ names it; in-process mode resolves the same name.  By name,
# not by import: the outbox sits below the domain, and the tasks (which call the domain) sit above it.
DELIVER_OUTBOX = "caseflow.jobs.tasks.deliver_outbox"


_NEW = "outbox_new"  # the session.info key of the items written in the current transaction


def add_outbox(kind: str, **payload) -> OutboxItem:
    """Queue work to run after the current transaction commits. Payload: ids only."""
    item = OutboxItem(kind=kind, payload=payload)
    db.session.add(item)
    db.session.info.setdefault(_NEW, []).append(item)
    return item


def _after_commit(session: Session) -> None:
    """Hand the committed transaction's outbox items over (items of a rolled-back savepoint are gone)."""
    items = session.info.pop(_NEW, [])
    ids = [item.id for item in items if sa.inspect(item).persistent and item.id is not None]
    if not ids or not has_app_context():
        return
    try:
        if queue() is not None:
            dispatch(ids)
            return
        # In-process delivery writes to the database, which this session may not do inside its commit:
        # run it in an app context (and so a session) of its own, as a worker would.
        with current_app._get_current_object().app_context():  # type: ignore[attr-defined]
            dispatch(ids)
    except Exception as exc:  # the transaction stands; the items stay pending for the sweeper
        log.warning("outbox delivery after commit deferred: %s", type(exc).__name__)


def _after_soft_rollback(session: Session, previous) -> None:
    """A rolled-back transaction sends nothing; a savepoint's items are dropped at commit (no longer persistent)."""
    if previous.parent is None:
        session.info.pop(_NEW, None)


def init_app(app) -> None:
    """Dispatch the outbox after every commit of the app's sessions (installed once per process)."""
    for name, listener in (("after_commit", _after_commit), ("after_soft_rollback", _after_soft_rollback)):
        if not sa.event.contains(db.session, name, listener):
            sa.event.listen(db.session, name, listener)


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
