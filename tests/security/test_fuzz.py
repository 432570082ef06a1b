"""Hostile input: Hypothesis on the validators and the public form, and text that must survive intact.

Never a 500, never an accepted invalid ID number, phone or registry number; text
with markup, quotes, wildcards, emoji, full-width characters and 维吾尔族 names is
escaped, stored and shown exactly.
"""
from __future__ import annotations

import itertools
import re
import string
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from caseflow.identity import (
    InvalidNumber,
    check_char,
    parse_id_number,
    parse_phone,
    parse_registry_number,
)
from caseflow.models import Case
from tests.factories import make_id_number, submit
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser, fresh

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TODAY = date(2026, 11, 23)

# Characters people (and attackers) type into number fields.
NUMBERISH = st.text(alphabet=string.digits + "Xx -_ＸＸ０１２３４５６７８９\u3000\t<>'\"%GJLgjl", max_size=24)
VALID_IDS = st.builds(
    lambda division, born, seq: make_id_number(division, born, seq),
    st.sampled_from(["410105", "410103", "130102", "110101"]),
    st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31)),
    st.integers(min_value=0, max_value=999),
)


def _is_valid_id(number: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born <= TODAY and check_char(number[:17]) == number[17]


# --- the validators ---------------------------------------------------------------------------

@FAST
@given(st.one_of(NUMBERISH, st.text(max_size=30), VALID_IDS))
def test_id_number_parser_accepts_only_valid_numbers(raw):
    try:
        parsed = parse_id_number(raw, today=TODAY)
    except InvalidNumber as exc:
        assert str(exc)  # a Chinese message, never a crash of another kind
        return
    assert _is_valid_id(parsed.number), (raw, parsed.number)


@FAST
@given(VALID_IDS, st.integers(min_value=0, max_value=17), st.sampled_from(string.digits + "X"))
def test_any_single_changed_character_of_an_id_number_is_refused(number, pos, char):
    assume(number[pos] != char)
    changed = number[:pos] + char + number[pos + 1:]
    with pytest.raises(InvalidNumber):
        parse_id_number(changed, today=TODAY)


@FAST
@given(st.one_of(NUMBERISH, st.text(max_size=30), VALID_IDS.map(lambda n: "G" + n),
                 VALID_IDS.map(lambda n: "J" + n), st.from_regex(r"L\d{18}", fullmatch=True)))
def test_registry_number_parser_accepts_only_valid_numbers(raw):
    try:
        parsed = parse_registry_number(raw, today=TODAY)
    except InvalidNumber as exc:
        assert str(exc)
        return
    number = parsed.number
    assert len(number) == 19 and number[0] in "GJL", (raw, number)
    if number[0] in "GJ":
        assert _is_valid_id(number[1:]), (raw, number)
    else:
        assert number[1:].isdigit()


@FAST
@given(st.one_of(NUMBERISH, st.text(max_size=20), st.from_regex(r"1[3-9]\d{9}", fullmatch=True)))
def test_phone_parser_accepts_only_plausible_numbers(raw):
    try:
        phone = parse_phone(raw)
    except (InvalidNumber, ValueError) as exc:
        assert str(exc)
        return
    assert re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?", phone), (raw, phone)


# --- the public form ---------------------------------------------------------------------------

_tokens = itertools.count()


@FAST
@given(complainant_id=st.one_of(NUMBERISH, VALID_IDS), student_id=st.one_of(NUMBERISH, VALID_IDS, st.just("")),
       phone=st.one_of(NUMBERISH, st.from_regex(r"1[3-9]\d{9}", fullmatch=True)),
       registry=st.one_of(NUMBERISH, st.just("")), description=st.text(max_size=200),
       name=st.text(max_size=40), age=st.text(alphabet=string.digits + "岁 -.", max_size=4))
def test_complaint_form_never_500_and_never_stores_invalid_numbers(app, db, world, complainant_id, student_id,
                                                                   phone, registry, description, name, age):
    client = app.test_client()
    form = valid_form(complainant_id_number=complainant_id, student_id_number=student_id, complainant_phone=phone,
                      student_registry_no=registry, description=description, complainant_name=name,
                      complainant_age=age, token=f"tok-fuzz-{next(_tokens):08d}-aaaaaaaa")
    resp = client.post("/complaints/new", data=form)
    assert resp.status_code in (200, 302, 400), resp.status_code
    if resp.status_code != 302:
        return
    db.session.expire_all()
    case = db.session.scalars(sa.select(Case).order_by(Case.id.desc())).first()
    assert _is_valid_id(case.complainant.id_number)
    assert re.fullmatch(r"1[3-9]\d{9}", case.complainant.phone)
    if case.student.id_number:
        assert _is_valid_id(case.student.id_number)
    if case.student.registry_no:
        parse_registry_number(case.student.registry_no)  # raises if invalid


# --- hostile text, stored and shown exactly ---------------------------------------------------

HOSTILE = [
    "<script>alert('x')</script>孩子的学籍问题一直没有解决",
    "\"'><img src=x onerror=alert(1)> 引号“测试”‘单引号’ & &amp; &lt;",
    "100%的学生_都没有注册；LIKE 通配符 % _ \\ 反斜杠",
    "孩子😀👨‍👩‍👧在学校就读🏫，学籍未注册🙏",
    "ＡＢＣ１２３全角字符，（全角括号）、全角空格\u3000结束",
    "{{ 7*7 }} {% raw %} ${7*7} #{7*7} 模板注入测试内容",
]
NAMES = ["阿依古丽·买买提", "艾力·阿不都热依木", "买买提•吐尔逊"]  # the last uses a bullet for the dot


def _submitted(app, db, **fields):
    """Submit the public form with ``fields`` changed; returns the citizen's browser and the new case."""
    citizen = Browser(app)
    resp = citizen.post("/complaints/new", data=valid_form(**fields, token=f"tok-{next(_tokens):08d}-hostile"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return citizen, db.session.scalars(sa.select(Case).order_by(Case.id.desc())).first()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_and_shown_exactly(app, db, world, text):
    citizen, case = _submitted(app, db, description=text)
    assert case.description == text.strip()
    shown = str(escape(text.strip()))
    assert shown in citizen.page(f"/track/{case.number}")
    staff = Browser(app, world.user("supervisor", "410105"))
    page = staff.page(f"/cases/{case.number}")
    assert shown in page
    assert "<script>alert" not in page and "<img src=x" not in page and "49" not in page.split("模板注入")[0][-30:]


@pytest.mark.parametrize("name", NAMES)
def test_names_with_middle_dots(app, db, world, name):
    _citizen, case = _submitted(app, db, student_name=name)
    assert case.student.name == name.replace("•", "·")
    assert case.student.name in Browser(app, world.user("supervisor", "410105")).page(f"/cases/{case.number}")


def test_ten_thousand_characters(app, db, world):
    """Too long for the complaint: a clear message, the text kept. Exactly the limit of an official's report."""
    long_text = ("学籍" * 5000)[:10000]
    resp = Browser(app).post("/complaints/new", data=valid_form(description=long_text, token="tok-long-000001"))
    body = resp.get_data(as_text=True)
    assert resp.status_code in (200, 400) and "投诉内容不能超过" in body and long_text in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0

    from caseflow.cases import operations

    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    operations.accept_case(sup, case)
    (order,) = operations.issue_verification(sup, case, [world.unit("4141000001")], "核实。")
    db.session.commit()
    school = Browser(app, world.user("officer", "4141000001"))
    school.act(f"/orders/{order.number}/sign", "sign", fresh(db, order).version_id, acting_person="李老师")
    report = "<b>" + ("核实😀·％_" * 2000)[:9997]
    assert len(report) == 10000
    school.act(f"/orders/{order.number}/report", "report", fresh(db, order).version_id, verdict="true", text=report)
    assert fresh(db, order).findings == report
    assert str(escape(report)) in school.page(f"/orders/{order.number}")


def test_wildcards_in_searches_match_literally(app, db, world):
    for _ in range(2):
        submit(db)
    staff = Browser(app, world.user("supervisor", "410105"))
    for q in ("%", "_", "%%", "\\"):
        page = staff.page(f"/cases?number={q.replace('%', '%25')}")
        assert "XJ" not in re.sub(r'value="[^"]*"', "", page.split("<table", 1)[-1]), q
        assert staff.get(f"/units/search?q={q.replace('%', '%25')}").get_json() == []
        assert Browser(app).get(f"/schools/search?q={q.replace('%', '%25')}").get_json() in ([], {"results": []})
