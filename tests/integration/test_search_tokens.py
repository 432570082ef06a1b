"""The cases' search tokens under concurrent transactions (PostgreSQL's locks, two real sessions)."""
from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from caseflow.cases import operations, search_tokens
from caseflow.models import Order
from tests.factories import submit, wait_for_lock_waiter

pytestmark = pytest.mark.postgres


def test_two_transactions_adding_orders_to_one_case_keep_both_units(app, db, world):
    """Each transaction computes the case's tokens after the other's commit: neither writes over the other's unit."""
    from caseflow.chase import facts

    case, _ = submit(db)
    county = world.user("supervisor", "410105")
    operations.accept_case(county, case)
    [order] = operations.issue_verification(county, case, [world.unit("4141000001")])
    db.session.commit()
    case_id, order_id, number = case.id, order.id, order.number
    unit_ids = {code: world.unit(code).id for code in ("4141000002", "4141000006")}
    copied = [c.name for c in Order.__table__.columns if c.name != "id"]
    values = ", ".join({"number": ":number", "receiving_unit_id": ":unit"}.get(c, c) for c in copied)

    def add_order(session: Session, code: str, suffix: str) -> None:
        session.execute(sa.text(f"INSERT INTO orders ({', '.join(copied)}) SELECT {values} FROM orders WHERE id = :id"),
                        {"id": order_id, "number": number + suffix, "unit": unit_ids[code]})
        search_tokens.refresh([case_id], session=session)

    first, second = Session(db.engine), Session(db.engine)
    failures: list[BaseException] = []

    def other() -> None:
        try:
            add_order(second, "4141000006", "B")
            second.commit()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    tag = f"tokens-{uuid.uuid4().hex[:8]}"
    second.execute(sa.text(f"SET application_name = '{tag}'"))

    thread = threading.Thread(target=other)
    try:
        add_order(first, "4141000002", "A")  # holds the case until it commits
        thread.start()
        wait_for_lock_waiter(tag)  # the second waits for the first's lock
        first.commit()
        thread.join(timeout=60)
        assert not thread.is_alive() and not failures, failures
    finally:
        first.close()
        if thread.is_alive():
            thread.join(timeout=60)
        second.close()

    stored = set(db.session.scalar(sa.text("SELECT search_tokens FROM cases WHERE id = :id"), {"id": case_id}))
    assert set(unit_ids.values()) <= stored
    assert not search_tokens.drift()
    facts.touch([case_id])  # the orders went in by SQL: the summary rows hear of them
    db.session.commit()


def test_a_savepoint_rolled_back_keeps_what_the_transaction_marked(app, db, world):
    """A savepoint's rollback (documents and reports use them) forgets nothing the transaction changed before."""
    case, _ = submit(db)
    case.student.name = "李四"
    db.session.flush()  # the case is marked here
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    db.session.commit()
    assert not search_tokens.drift()
    assert -ord("李") in db.session.scalar(sa.text("SELECT search_tokens FROM cases WHERE id = :id"), {"id": case.id})
