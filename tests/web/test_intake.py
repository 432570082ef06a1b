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


def _code_on(html: str) -> str | None:
    found = re.search(r'class="code-big access-code">([^<]+)<', html)
    return found.group(1) if found else None


def test_complaint_routed_above_the_clerk_shows_where_it_went_with_the_receipt(app, client, world, db):
    """Two schools in two districts go to the city: the county clerk cannot open the case, so is told
    where it went and given the receipt (with the access code) to hand or mail to the complainant."""
    login(client, world.user("intake", "410105"))
    resp = client.post("/intake/new", data=valid_form(source="letter", school2="4141000003"))
    case = db.session.scalars(db.select(Case)).one()
    assert case.responsible_unit.code == "410100"
    assert resp.status_code == 302 and resp.headers["Location"] == f"/intake/registered/{case.number}"
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "郑州市教育局" in html and case.number in html
    code = _code_on(html)
    assert code and access_code_matches(case.number, code, case.access_code_hash)
    pdf = client.get(f"/intake/registered/{case.number}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    # Nobody else reaches that page.
    other = app.test_client()
    login(other, world.user("intake", "410103"))
    assert other.get(f"/intake/registered/{case.number}").status_code == 404
    assert other.get(f"/intake/registered/{case.number}/receipt.pdf").status_code == 404


def test_complaint_about_a_school_in_another_province_goes_to_the_ministry(client, world, db):
    login(client, world.user("intake", "410105"))
    resp = client.post("/intake/new", data=valid_form(source="phone", school1="1341000001"))
    assert resp.status_code == 302
    case = db.session.scalars(db.select(Case)).one()
    assert case.responsible_unit.code == "410000"
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "由教育部协调处理" in html and "将按规定下发核查单" not in html
