"""Issue 20 item 26: bidirectional control characters are removed at intake, by one normaliser, on every way in."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import operations as ops
from caseflow.models import Case, Order, RegistryRecord, Verdict
from caseflow.security.text import strip_bidi
from tests.conftest import TEST_PASSWORD
from tests.factories import submit
from tests.registry.helpers import do_import, student, write_csv
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser

RLO, PDF_, LRI, PDI, RLM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200f"
CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)]


def test_the_normaliser_removes_every_control_and_nothing_else():
    text = "张三" + "".join(CONTROLS) + "经核实，情况属实。abc 123"
    assert strip_bidi(text) == "张三经核实，情况属实。abc 123"
    assert strip_bidi("plain ascii") == "plain ascii" and strip_bidi("") == ""


def test_citizen_form_strips_them_from_names_and_text(client, world, db):
    resp = client.post("/complaints/new", data=valid_form(
        complainant_name=f"{RLO}张伟", student_name=f"张{LRI}小红{PDI}",
        description=f"孩子在金水区第一小学就读两年，{RLO}学校一直没有给办理学籍注册{PDF_}。"))
    assert resp.status_code == 302
    case = db.session.scalars(sa.select(Case)).one()
    assert (case.complainant.name, case.student.name) == ("张伟", "张小红")
    assert case.description == "孩子在金水区第一小学就读两年，学校一直没有给办理学籍注册。"


def test_clerk_and_staff_forms_strip_them(app, db, world):
    clerk = Browser(app, world.user("intake", "410105"))
    assert clerk.post("/intake/new", data=valid_form(source="phone", complainant_name=f"王{RLM}芳",
                                                     token="tok-clerk-bidi-000001")).status_code == 302
    assert db.session.scalars(sa.select(Case)).one().complainant.name == "王芳"
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    case, _ = submit(db)
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")], "请核实。")
    ops.sign_order(officer, order)
    db.session.commit()
    b = Browser(app, officer)
    resp = b.post(f"/orders/{order.number}/report", data={
        "report-version": str(order.version_id), "report-verdict": Verdict.TRUE.value,
        "report-text": f"经核实，{RLO}该生已补办注册{PDF_}。"})
    assert resp.status_code in (200, 302)
    db.session.expire_all()
    assert db.session.get(Order, order.id).findings == "经核实，该生已补办注册。"
    # Passwords are compared as typed: the log-in still works (the form data is not altered there).
    assert Browser(app).post("/login", data={"username": officer.username, "password": TEST_PASSWORD}).status_code == 302


def test_registry_import_strips_them_from_names(db, world, tmp_path):
    path = write_csv(tmp_path / "n.csv", [student(f"{RLO}张小明"), student(f"李{LRI}梅{PDI}", seq=124)])
    summary, _imp = do_import(path)
    assert summary["imported"] == 2
    assert sorted(db.session.scalars(sa.select(RegistryRecord.name))) == sorted(["张小明", "李梅"])


def test_registry_row_check_strips_them_too():
    """The row-by-row path (rows the vectorised one sends on) uses the same normaliser."""
    from caseflow.registry.validation import map_headers, validate_row

    row = student(f"{RLO}张小明", 班级=f"2{RLM}班")
    columns, _missing = map_headers(list(row))
    clean = validate_row(list(row.values()), columns, {"4141000001": 1})
    assert (clean.name, clean.class_name) == ("张小明", "2班")
