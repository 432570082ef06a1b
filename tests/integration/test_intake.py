"""The intake module with the database (schools), outside any request: the path an API would take."""
from __future__ import annotations

from datetime import date

import pytest

from caseflow.cases.intake import ComplaintInput, ComplaintRefused, PersonInput, validate_complaint
from caseflow.cases.operations import submit_complaint
from caseflow.errors import InvalidInput
from caseflow.models import CaseSource, CaseState, Category
from tests.factories import make_id_number

TODAY = date(2026, 11, 23)
COMPLAINANT_ID = make_id_number("410105", date(1988, 5, 4), 311)
STUDENT_ID = make_id_number("410105", date(2015, 3, 8), 124)


def values(*schools, **kw) -> ComplaintInput:
    data = dict(
        complainant=PersonInput(name="张伟", sex="male", age="38", ethnicity="汉族", id_number=COMPLAINANT_ID,
                                phone="138 1234 5678"),
        student=PersonInput(name="张小红", sex="female", age="11", ethnicity="回族", id_number=STUDENT_ID),
        category="unregistered", description="孩子在金水区第一小学就读两年，学校一直没有给办理学籍注册。",
        schools=schools)
    return ComplaintInput(**{**data, **kw})


def test_a_valid_complaint_becomes_a_case_without_any_request(world, db):
    data = validate_complaint(values("郑州市金水区第一小学", "4141000003 郑州市二七区实验小学"), today=TODAY)
    assert data.school_codes == ["4141000001", "4141000003"] and data.category is Category.UNREGISTERED
    assert data.complainant.phone == "13812345678" and data.student.birth_date == date(2015, 3, 8)
    case, code = submit_complaint(data, source=CaseSource.WEB)
    assert case.state is CaseState.SUBMITTED and code


@pytest.mark.parametrize(("schools", "field", "message"), [
    (("4141000001", "郑州市金水区第一小学"), "school2", "两所学校不能是同一所"),
    (("金水区",), "school1", "找到2所名称相近的学校，请在下面选择一所"),
    (("410105",), "school1", "没有找到该学校"),  # a bureau is not a school
    (("", "4141000001"), "school1", "请填写投诉涉及的学校"),
])
def test_schools_are_resolved_by_the_intake(world, db, schools, field, message):
    with pytest.raises(ComplaintRefused) as refused:
        validate_complaint(values(*schools), today=TODAY)
    assert [f for f, _ in refused.value.problems] == [field] and message in refused.value.problems[0][1]
    assert isinstance(refused.value, InvalidInput) and refused.value.field == field


def test_every_problem_comes_back_together(world, db):
    bad = values("不存在的学校", student=PersonInput(name="张小红", sex="male", age="40", ethnicity="回族",
                                                 id_number=STUDENT_ID, registry_no="L123"))
    with pytest.raises(ComplaintRefused) as refused:
        validate_complaint(bad, today=TODAY)
    assert dict(refused.value.problems) == {
        "student_age": "学生年龄应在3至25岁之间", "student_sex": "性别与身份证号不一致（按身份证号应为女），请核对",
        "student_registry_no": "学籍号应为19位：G或J加18位，或L加18位数字",
        "school1": "没有找到该学校，请核对学校名称或10位学校标识码"}
