"""The intake module called directly: no request, no form (and, without school texts, no database)."""
from __future__ import annotations

from datetime import date

import pytest

from caseflow.cases.intake import (
    CLERK_SOURCES,
    ComplaintInput,
    PersonInput,
    check_complaint,
)
from caseflow.models import CaseSource, Sex
from tests.factories import make_id_number

TODAY = date(2026, 11, 23)
COMPLAINANT_ID = make_id_number("410105", date(1988, 5, 4), 311)  # male, 38
STUDENT_ID = make_id_number("410105", date(2015, 3, 8), 124)  # female, 11


def complainant(**kw) -> PersonInput:
    values = dict(name="张伟", sex="male", age="38", ethnicity="汉族", id_number=COMPLAINANT_ID, phone="13812345678")
    return PersonInput(**{**values, **kw})


def student(**kw) -> PersonInput:
    values = dict(name="张小红", sex="female", age="11", ethnicity="回族", id_number=STUDENT_ID,
                  registry_no="G" + STUDENT_ID)
    return PersonInput(**{**values, **kw})


def problems(values: ComplaintInput, **kw) -> dict[str, list[str]]:
    """The problems by field (the school is left out: it needs the database)."""
    found: dict[str, list[str]] = {}
    for field, message in check_complaint(values, today=TODAY, **kw).problems:
        found.setdefault(field, []).append(message)
    found.pop("school1")
    return found


def complaint(**kw) -> ComplaintInput:
    values = dict(complainant=complainant(), student=student(), category="unregistered",
                  description="孩子在金水区第一小学就读两年，学校一直没有给办理学籍注册。")
    return ComplaintInput(**{**values, **kw})


def test_a_good_complaint_has_no_problem_but_the_missing_school():
    assert problems(complaint()) == {}
    assert check_complaint(complaint(), today=TODAY).problems == [
        ("school1", "请填写投诉涉及的学校（学校名称或10位学校标识码）")]


@pytest.mark.parametrize(("person", "change", "field", "message"), [
    ("student", {"sex": "male"}, "student_sex", "性别与身份证号不一致（按身份证号应为女），请核对"),
    ("student", {"age": "30"}, "student_age", "学生年龄应在3至25岁之间"),
    ("student", {"age": "14"}, "student_age", "年龄与身份证号不一致（按身份证号应为11岁），请核对"),
    ("student", {"registry_no": "G" + make_id_number("410105", date(2015, 3, 8), 126)}, "student_registry_no",
     "G字头学籍号应为“G”加学生身份证号，与所填学生身份证号不一致"),
    ("student", {"registry_no": "G123"}, "student_registry_no", "学籍号应为19位：G或J加18位，或L加18位数字"),
    ("student", {"ethnicity": "火星族"}, "student_ethnicity", "请选择民族"),
    ("student", {"name": "张3"}, "student_name", "姓名只能包含汉字、字母和间隔号“·”"),
    ("complainant", {"id_number": ""}, "complainant_id_number", "请填写身份证号"),
    ("complainant", {"age": "15"}, "complainant_age", "投诉人年龄应在16至100岁之间"),
    ("complainant", {"sex": "female"}, "complainant_sex", "性别与身份证号不一致（按身份证号应为男），请核对"),
])
def test_each_rule_names_its_field(person, change, field, message):
    values = complaint(**{person: (student if person == "student" else complainant)(**change)})
    assert problems(values) == {field: [message]}


def test_optional_student_numbers_and_normalised_values():
    values = complaint(student=student(id_number="", registry_no=""))
    assert problems(values) == {}
    values = complaint(student=student(id_number=STUDENT_ID.lower(), registry_no=" g" + STUDENT_ID + " "),
                       complainant=complainant(name="买买提 • 吐尔逊", age="３８岁"))
    assert problems(values) == {}


def test_every_problem_is_reported_at_once():
    values = complaint(complainant=complainant(name="", sex=None), student=student(age="x"), category="nope",
                       description="太短")
    assert problems(values) == {"complainant_name": ["请填写姓名"], "complainant_sex": ["请选择性别"],
                                "student_age": ["年龄请填写数字，如38"], "category": ["请选择投诉类别"],
                                "description": ["请具体说明投诉的问题，至少10个字"]}


def test_the_source_must_be_one_this_path_accepts():
    assert problems(complaint(source="phone")) == {"source": ["请选择投诉来源"]}  # the web form is web only
    assert problems(complaint(source="phone"), sources=CLERK_SOURCES) == {}
    assert problems(complaint(source="web"), sources=CLERK_SOURCES) == {"source": ["请选择投诉来源"]}


def test_a_registry_recorded_student_keeps_name_and_ethnicity_but_numbers_must_agree():
    recorded = PersonInput(name="  阿依古丽（曾用名）", sex="female", ethnicity="维吾尔", id_number=STUDENT_ID,
                           registry_no="G" + STUDENT_ID, birth_date=date(2015, 3, 8))
    values = ComplaintInput(reporter="数据监测（金水区教育局）", student=recorded, category="duplicate",
                            description="学籍数据监测发现：一人多籍。", source=CaseSource.MONITORING.value)
    monitoring = (CaseSource.MONITORING,)
    assert problems(values, sources=monitoring) == {}
    wrong = PersonInput(name="张小明", sex="male", id_number=STUDENT_ID)
    assert problems(ComplaintInput(**{**values.__dict__, "student": wrong}), sources=monitoring) == {
        "student_sex": ["性别与身份证号不一致（按身份证号应为女），请核对"]}
    nobody = ComplaintInput(**{**values.__dict__, "reporter": " ", "student": PersonInput()})
    assert problems(nobody, sources=monitoring) == {"reporter": ["请注明发现问题的单位"],
                                                    "student_name": ["请填写姓名"]}


def test_the_validated_person_is_the_domain_record():
    result = check_complaint(complaint(), today=TODAY)
    assert result.complaint is None  # the school is still missing
    from caseflow.cases.intake import Problems, check_person

    found = Problems()
    person = check_person(student(registry_no=" g" + STUDENT_ID), "student", TODAY, found)
    assert not found
    assert (person.name, person.sex, person.age, person.registry_no, person.birth_date) == (
        "张小红", Sex.FEMALE, 11, "G" + STUDENT_ID, date(2015, 3, 8))


@pytest.mark.parametrize(("phone", "notice", "problem"), [
    ("13812345678", None, None), ("13812345678", "none", None), ("0371-65900000", None, None),
    ("0371-65900000", "none", None),
    ("0371-65900000", "sms", "短信只能发送到手机。请填写手机号码，或选择“不接收短信”"),
    ("13812345678", "pigeon", "请选择是否接收短信通知"),
])
def test_texts_or_none_is_checked_against_the_phone(phone, notice, problem):
    values = complaint(complainant=complainant(phone=phone), notice=notice)
    assert problems(values).get("notice") == ([problem] if problem else None)
