"""The clerk's form refuses what the citizen's form refuses: both ask the one intake module."""
from __future__ import annotations

import re
from datetime import date

import pytest

from caseflow.models import Case
from tests.conftest import TEST_PASSWORD
from tests.factories import make_id_number
from tests.web.formdata import STUDENT_ID, valid_form

MALE_STUDENT_ID = make_id_number("410105", date(2015, 3, 8), 125)  # odd sequence: a boy

# (field, value, what the message says): each breaks one intake rule.
REFUSED = [
    ("student_id_number", MALE_STUDENT_ID, "student_sex", "性别与身份证号不一致（按身份证号应为男）"),
    ("student_age", "30", "student_age", "学生年龄应在3至25岁之间"),
    ("student_age", "2", "student_age", "学生年龄应在3至25岁之间"),
    ("student_age", "16", "student_age", "年龄与身份证号不一致"),
    ("student_registry_no", "G" + STUDENT_ID[:-1] + "0", "student_registry_no", "学籍号"),
    ("student_registry_no", "X" + STUDENT_ID, "student_registry_no", "学籍号应以G、J或L开头"),
    ("student_registry_no", "G" + make_id_number("410105", date(2015, 3, 8), 126), "student_registry_no",
     "G字头学籍号应为“G”加学生身份证号"),
    ("complainant_age", "60", "complainant_age", "年龄与身份证号不一致"),
    ("complainant_phone", "12345", "complainant_phone", ""),
    ("school1", "不存在的学校", "school1", "没有找到该学校"),
]


def _errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<div class="err" id="{field}-err">([^<]*)</div>', html)


def _clerk(client, world) -> None:
    user = world.user("intake", "410105")
    resp = client.post("/login?next=/intake/new", data={"username": user.username, "password": TEST_PASSWORD})
    assert resp.status_code == 302


@pytest.mark.parametrize(("name", "value", "field", "message"), REFUSED)
def test_clerk_and_citizen_forms_refuse_alike(app, client, world, db, name, value, field, message):
    data = valid_form(**{name: value})
    citizen = app.test_client().post("/complaints/new", data=data).get_data(as_text=True)
    _clerk(client, world)
    resp = client.post("/intake/new", data=valid_form(**{name: value}, source="phone"))
    clerk = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert _errors(clerk, field) == _errors(citizen, field) != []
    assert all(message in e for e in _errors(clerk, field))
    assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', clerk)  # typed input kept
    assert '<option selected value="phone">' in clerk  # the source kept too
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 0


def test_clerk_form_refuses_a_source_citizens_use(client, world, db):
    _clerk(client, world)
    resp = client.post("/intake/new", data=valid_form(source="web"))
    assert _errors(resp.get_data(as_text=True), "source") == ["请选择投诉来源"]
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 0


def test_clerk_form_stores_the_intake_outcome(client, world, db):
    _clerk(client, world)
    resp = client.post("/intake/new", data=valid_form(source="letter", student_registry_no=" g" + STUDENT_ID.lower(),
                                                      school1="金水区第一小学"))
    assert resp.status_code == 302
    case = db.session.scalars(db.select(Case)).one()
    assert case.source.value == "letter" and case.student.registry_no == "G" + STUDENT_ID
    assert [s.code for s in case.schools] == ["4141000001"]
