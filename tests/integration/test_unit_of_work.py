"""One transaction boundary: ``unit_of_work`` commits or rolls back, and whatever commits, the outbox
items of that transaction are handed over by the session's commit event (in process here)."""
import pytest
import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db, unit_of_work
from caseflow.jobs import add_outbox
from caseflow.models import OutboxItem
from tests.factories import submit


def _items(case_id: int) -> dict[str, str]:
    rows = db.session.scalars(sa.select(OutboxItem).where(OutboxItem.kind == "sms")).all()
    return {item.payload["template"]: item.state for item in rows if item.payload.get("case_id") == case_id}


def test_a_plain_commit_hands_the_outbox_over(world):
    case, _ = submit(db)  # the factory commits with db.session.commit(): no helper to remember
    assert _items(case.id) == {"registered": "done"}


def test_a_block_that_raises_rolls_back_and_sends_nothing(world):
    case, _ = submit(db)
    with pytest.raises(RuntimeError), unit_of_work():
        add_outbox("sms", case_id=case.id, template="closed")
        raise RuntimeError("boom")
    assert _items(case.id) == {"registered": "done"}
    with unit_of_work():
        add_outbox("sms", case_id=case.id, template="closed")
    assert _items(case.id) == {"registered": "done", "closed": "done"}


def test_a_kept_refusal_commits_what_the_block_recorded(world):
    case, _ = submit(db)
    with pytest.raises(InvalidInput), unit_of_work(keep=(InvalidInput,)):
        add_outbox("sms", case_id=case.id, template="closed")
        raise InvalidInput("不对")
    assert _items(case.id) == {"registered": "done", "closed": "done"}


def test_items_of_a_rolled_back_savepoint_are_not_sent(world):
    case, _ = submit(db)
    with unit_of_work():
        add_outbox("sms", case_id=case.id, template="closed")
        savepoint = db.session.begin_nested()
        add_outbox("sms", case_id=case.id, template="rejected")
        savepoint.rollback()
    assert _items(case.id) == {"registered": "done", "closed": "done"}
