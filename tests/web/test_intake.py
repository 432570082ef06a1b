"""Intake clerks register complaints that came by phone, letter or from above."""
from __future__ import annotations

import re

from caseflow.cases.numbering import access_code_matches
from caseflow.models import Case, CaseSource, CaseState
from tests.conftest import TEST_PASSWORD
from tests.web.formdata import valid_form


def login(client, user):
    """Log in straight to the intake page (independent of where the staff home lives)."""
    resp = client.post("/login?next=/intake/new", data={"username": user.username, "password": TEST_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/intake/new"


def test_clerk_registers_a_phone_complaint(client, world, db):
    clerk = world.user("intake", "410105")
    login(client, clerk)
    page = client.get("/intake/new").get_data(as_text=True)
    assert "来源" in page and 'value="phone"' in page
    resp = client.post("/intake/new", data=valid_form(source="phone"))
    assert resp.status_code == 302
    case = db.session.scalars(db.select(Case)).one()
    assert resp.headers["Location"] == f"/cases/{case.number}"
    assert case.state is CaseState.REGISTERED and case.source is CaseSource.PHONE
    assert case.created_by_id == clerk.id and case.registered_at is not None
    with client.session_transaction() as sess:
        [(category, message)] = sess["_flashes"]
    code = re.search(r"查询码：([A-Z0-9]{4}-[A-Z0-9]{4})", message).group(1)
    assert category == "success" and case.number in message
    assert access_code_matches(case.number, code, case.access_code_hash)


def test_source_is_required_and_input_kept(client, world, db):
    login(client, world.user("supervisor", "410100"))
    resp = client.post("/intake/new", data=valid_form(source=""))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<div class="err" id="source-err">请选择投诉来源</div>' in html
    assert 'value="张伟"' in html
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 0


def test_resend_registers_once(client, world, db):
    login(client, world.user("intake", "410105"))
    data = valid_form(source="letter")
    first, second = client.post("/intake/new", data=data), client.post("/intake/new", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 1


def test_citizen_is_sent_to_login(client, world):
    resp = client.get("/intake/new")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_officer_is_refused(client, world):
    login(client, world.user("officer", "410105"))
    assert client.get("/intake/new").status_code == 403
    assert client.post("/intake/new", data=valid_form(source="phone")).status_code == 403
