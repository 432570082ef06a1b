"""The real path: PostgreSQL, Redis, an RQ worker process, and the outbox when Redis is away."""
import pytest

from caseflow import jobs
from caseflow.models import OutboxItem, SmsMessage
from tests.factories import submit
from tests.workers import work_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _state(db, item_id: int) -> str:
    """The outbox item's state as committed now (another process delivers it)."""
    db.session.rollback()
    return db.session.get_one(OutboxItem, item_id).state


def _sms_count(db):
    return db.session.scalar(db.select(db.func.count(SmsMessage.id)))


def test_worker_delivers_the_registration_sms(world, db, rq_app, run_worker):
    case, _ = submit(db)
    item = db.session.scalars(db.select(OutboxItem).where(OutboxItem.kind == "sms")).one()
    assert item.state == "pending"  # queued in Redis, not yet run
    proc = run_worker()
    db.session.expire_all()
    assert db.session.get(OutboxItem, item.id).state == "done"
    assert _sms_count(db) == 1
    # The log shows the message with the phone masked, never the full number.
    assert case.complainant.phone not in proc.stderr + proc.stdout
    # Running the same item again (a retried job) sends nothing twice.
    from caseflow.jobs.tasks import deliver_outbox

    assert deliver_outbox(item.id) == "skipped"
    assert _sms_count(db) == 1


def test_redis_down_loses_nothing(world, db, rq_app):
    rq_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    case, _ = submit(db)
    assert case.id is not None  # the complaint is stored although the queue is unreachable
    item = db.session.scalars(db.select(OutboxItem).where(OutboxItem.kind == "sms")).one()
    assert item.state == "pending"
    from tests.conftest import REDIS_TEST_URL

    rq_app.config["REDIS_URL"] = REDIS_TEST_URL
    assert jobs.sweep(older_than_seconds=0) >= 1
    work_until(REDIS_TEST_URL, lambda: _state(db, item.id) == "done", "the swept SMS to be delivered")
    assert _state(db, item.id) == "done"
    assert _sms_count(db) == 1
    assert jobs.sweep(older_than_seconds=0) == 0
