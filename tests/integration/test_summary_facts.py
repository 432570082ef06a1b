"""The dashboard's summary rows (caseflow.chase.facts): kept by each commit, rolled up the tree, rebuilt alike.

Every test of the suite also ends with ``facts.drift()`` (tests/conftest.py): whatever a test wrote, the
summary rows must agree with the data.  These tests look at the rows themselves.
"""
import threading
import uuid

import pytest
import sqlalchemy as sa

from caseflow.cases import operations as ops
from caseflow.chase import facts
from caseflow.models import Case, Rating, UnitFacts
from caseflow.timeutil import SHANGHAI
from tests.conftest import _pg_url
from tests.factories import report_and_close, submit, wait_for_lock_waiter


def _rows(db) -> dict[tuple, int]:
    return {(u, m, k): n for u, m, k, n in db.session.execute(
        sa.select(UnitFacts.unit_id, UnitFacts.month, UnitFacts.metric, UnitFacts.n)) if n}


def _worked_case(world, db, school="4141000001"):
    unit = world.unit(school).parent
    sup, off = world.user("supervisor", unit.code), world.user("officer", school)
    case, _ = submit(db, schools=(school,))
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit(school)])
    db.session.commit()
    report_and_close(db, off, sup, case, order)
    return case


def test_a_commit_adds_its_facts_to_the_unit_and_every_parent(world, db):
    case = _worked_case(world, db)
    rows = _rows(db)
    month = f"{case.received_at.astimezone(SHANGHAI):%Y-%m}"
    responsible = db.session.get(Case, case.id).responsible_unit
    chain = [u for u in world.units.values() if responsible.path.startswith(u.path)]
    assert len(chain) >= 3  # the responsible bureau and its parents up to the ministry
    for unit in chain:
        assert rows[(unit.id, month, "received")] == 1, unit.name
        assert rows[(unit.id, month, "closed")] == 1, unit.name
        assert rows[(unit.id, month, "state:closed")] == 1, unit.name
    assert not [k for k in rows if k[2] == "received" and k[0] not in {u.id for u in chain}]


def test_a_change_moves_a_fact_instead_of_adding_one(world, db):
    case = _worked_case(world, db)
    before = _rows(db)
    ops.rate_case(case, Rating.SATISFIED, None)
    db.session.commit()
    after = _rows(db)
    unit = case.responsible_unit_id
    month = next(m for (u, m, k) in before if u == unit and k == "received")
    assert after[(unit, month, "state:closed")] + after.get((unit, month, "state:rated"), 0) == 1
    assert sum(n for (u, m, k), n in after.items() if u == unit and k.startswith("state:")) == 1
    assert after.get((unit, month, "rated"), 0) == before.get((unit, month, "rated"), 0) + 1


def test_rebuild_gives_the_rows_the_commits_kept(world, db):
    _worked_case(world, db)
    submit(db)
    kept = _rows(db)
    assert kept
    report = facts.rebuild()
    db.session.commit()
    assert report["cases"] >= 1
    assert _rows(db) == kept
    assert facts.drift() == []


def test_a_rolled_back_change_leaves_the_rows_alone(world, db):
    case = _worked_case(world, db)
    kept = _rows(db)
    ops.rate_case(case, Rating.UNSATISFIED, "没有解决")
    db.session.flush()
    db.session.rollback()
    submit(db)  # a later commit does not pick up the rolled-back case
    assert facts.drift() == []
    after = _rows(db)
    assert sum(n for k, n in after.items() if k[2] == "rated") == sum(n for k, n in kept.items() if k[2] == "rated")


@pytest.mark.postgres
def test_two_transactions_on_one_case_wait_for_each_other(app, world, db):
    """The second commit touching a case waits for the first's summary rows, then adds its own difference."""
    case = _worked_case(world, db)
    case_id = db.session.get(Case, case.id).id
    db.session.remove()
    first_locked, errors = threading.Event(), []
    tag = f"facts-{uuid.uuid4().hex[:8]}"

    def first():
        try:
            with app.app_context():
                db.session.execute(sa.text(f"SET application_name = '{tag}-1'"))
                c = db.session.get(Case, case_id)
                ops.rate_case(c, Rating.SATISFIED, None)
                db.session.flush()
                facts.refresh([case_id])  # holds the case's facts row until this transaction ends
                first_locked.set()
                wait_for_lock_waiter(f"{tag}-2")
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            first_locked.set()

    def second():
        try:
            first_locked.wait(60)
            with app.app_context():
                db.session.execute(sa.text(f"SET application_name = '{tag}-2'"))
                # Nothing of its own to add: had it not waited, it would store the facts from before the
                # first's rating, and the check below would find them out of step.
                facts.touch([case_id])
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert facts.drift() == []


@pytest.mark.postgres
def test_the_migration_computes_the_rows_of_an_existing_database():
    """Revision 0024 on a database that already has cases: the rows a fresh computation gives."""
    from flask_migrate import downgrade, upgrade

    from caseflow import create_app
    from caseflow.demo import load_demo
    from caseflow.extensions import db

    name = f"caseflow_facts_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": _pg_url(name)})
        with app.app_context():
            upgrade()
            load_demo()
            db.session.commit()
            kept = _rows(db)
            assert sum(n for k, n in kept.items() if k[2] == "received") > 0
            db.session.remove()
            downgrade(revision="0023")
            assert "unit_facts" not in sa.inspect(db.engine).get_table_names()
            upgrade()
            assert _rows(db) == kept
            assert facts.drift() == []
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
