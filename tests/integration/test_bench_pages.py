"""The page bench's province builder at a tiny size: the data is consistent and every page it measures answers.

So a change to the models, the workflow or a page that the builder does not follow fails here, not at
100,000 cases in the middle of a bench run.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from bench.pages import pages as bench_pages
from bench.pages import pick_subjects
from bench.province import ACCOUNTS, BENCH_PASSWORD, BUSY_SCHOOL, build_province
from tests.web.formdata import valid_form

pytestmark = pytest.mark.postgres

CASES = 300
TOKEN = re.compile(r'name="token"[^>]*value="([^"]*)"')


def test_a_tiny_province_is_consistent_and_every_bench_page_answers(app, db):
    """One build (a few seconds), three checks."""
    report = build_province(CASES, schools=300)
    subject = pick_subjects()
    db.session.commit()
    check_the_mix_of_states(report, db)
    check_the_models_invariants(db)
    check_every_bench_page_answers(subject, app)


def _scalar(db, sql: str, **params):
    return db.session.execute(sa.text(sql), params).scalar()


def check_the_mix_of_states(report, db):
    """About 15 % open, most closed and rated, some rejected, escalated, extended, returned."""
    assert report.counts["cases"] == CASES
    states = dict(db.session.execute(sa.text("SELECT state, count(*) FROM cases GROUP BY state")).all())
    open_ = sum(n for s, n in states.items() if s not in ("closed", "rejected", "referred"))
    assert 0.08 * CASES <= open_ <= 0.25 * CASES, states  # about 15 % open
    assert states["closed"] >= 0.7 * CASES, states
    assert 0 < states.get("rejected", 0) <= 0.1 * CASES, states
    rated = _scalar(db, "SELECT count(*) FROM cases WHERE state = 'closed' AND rating IS NOT NULL")
    assert rated >= 0.75 * states["closed"]
    # some escalated by the real chase scan, some extensions and returns
    assert _scalar(db, "SELECT count(*) FROM chase_steps WHERE step = 'escalate'") > 0
    assert _scalar(db, "SELECT count(*) FROM extension_requests WHERE state = 'approved'") > 0
    assert _scalar(db, "SELECT count(*) FROM orders WHERE state = 'returned'") > 0
    assert _scalar(db, "SELECT count(*) FROM case_registry_links") > 0


def check_the_models_invariants(db):
    """Unit paths, orders one level down, states and times, due dates, sealed data, number series."""
    from caseflow.deadlines import policy
    from caseflow.deadlines.settings import current_rules
    from caseflow.models import Order, OrderKind, Person
    from caseflow.security import crypto
    from caseflow.timeutil import local_date

    # unit paths, and every order one level down
    assert _scalar(db, """SELECT count(*) FROM units u JOIN units p ON p.id = u.parent_id
                          WHERE u.path <> p.path || u.code || '/'""") == 0
    assert _scalar(db, """SELECT count(*) FROM orders o JOIN units r ON r.id = o.receiving_unit_id
                          WHERE r.parent_id <> o.issuing_unit_id""") == 0
    # a case's state is where its last move took it; a closed case was closed after it was received
    assert _scalar(db, """
        SELECT count(*) FROM cases c
        WHERE c.state <> (SELECT e.to_state FROM case_events e WHERE e.case_id = c.id AND e.order_id IS NULL
                            AND e.to_state IS NOT NULL ORDER BY e.created_at DESC, e.id DESC LIMIT 1)""") == 0
    assert _scalar(db, "SELECT count(*) FROM cases WHERE closed_at < received_at OR registered_at < received_at") == 0
    # due dates are the policy's (three working days more where an extension was approved)
    rules = current_rules()
    extended = set(db.session.scalars(sa.text("SELECT order_id FROM extension_requests WHERE state = 'approved'")))
    for order in db.session.scalars(sa.select(Order)):
        due = policy.complete_by(rules, order.kind, local_date(order.sent_at)).on
        if order.id in extended:
            due = rules.calendar.add(due, 3).on
        assert order.due_on == due, order
        assert order.kind in OrderKind
    # personal data opens with the app's key and its lookup hashes are the hashes of the same values
    for person in db.session.scalars(sa.select(Person).limit(20)):
        assert person.id_number and person.id_number_hash == crypto.lookup_hash(person.id_number)
        assert (person.phone_hash == crypto.lookup_hash(person.phone)) if person.phone else person.registry_no
    # the number series continue after the generated numbers
    assert _scalar(db, """SELECT count(*) FROM cases c JOIN counters n ON n.name = 'case'
                          AND n.year = substr(c.number, 3, 4)::int WHERE substr(c.number, 8)::int > n.value""") == 0


def check_every_bench_page_answers(subject, app):
    """Through the Flask test client, logged in through the login form like the bench."""
    for page in bench_pages(subject["case"], subject["order"], subject["track"], subject["month"]):
        client = app.test_client()
        if page.account == "citizen":
            resp = client.post("/track", data={"number": subject["track"], "code": subject["code"]})
            assert resp.status_code == 302, page
        elif page.account is not None:
            resp = client.post("/login", data={"username": ACCOUNTS[page.account], "password": BENCH_PASSWORD})
            assert resp.status_code == 302, page
        if page.post:
            form = client.get(page.path).get_data(as_text=True)
            token = TOKEN.search(form).group(1)
            resp = client.post(page.path, data=valid_form(token=token, school1=BUSY_SCHOOL))
            assert resp.status_code == 302 and resp.location.endswith("/complaints/receipt"), page
        else:
            resp = client.get(page.path)
            assert resp.status_code == 200, (page, resp.get_data(as_text=True)[:500])
