"""The pure checks behind the complaint form (they live in the intake module)."""
from __future__ import annotations

from datetime import date

import pytest

from caseflow.cases.intake import (
    ETHNIC_GROUPS,
    age_conflict,
    clean_age,
    clean_name,
    registry_conflict,
    sex_conflict,
)
from caseflow.identity import parse_id_number
from caseflow.models import Sex
from tests.factories import make_id_number

MALE_1988 = parse_id_number(make_id_number("410105", date(1988, 5, 4), 311))


def test_ethnic_groups_are_the_56_and_other():
    assert len(ETHNIC_GROUPS) == 57 == len(set(ETHNIC_GROUPS))
    assert ETHNIC_GROUPS[0] == "汉族" and ETHNIC_GROUPS[-1] == "其他" and "维吾尔族" in ETHNIC_GROUPS


@pytest.mark.parametrize(("raw", "name"), [
    ("  张伟 ", "张伟"),
    ("买买提·吐尔逊", "买买提·吐尔逊"),
    ("买买提 • 吐尔逊", "买买提·吐尔逊"),
    ("阿依古丽・艾买提", "阿依古丽·艾买提"),
    ("ＬＩ　Ｍｉｎｇ", "LI Ming"),
])
def test_names_are_normalised(raw, name):
    assert clean_name(raw) == name


@pytest.mark.parametrize(("raw", "message"), [
    ("", "请填写姓名"),
    ("   ", "请填写姓名"),
    ("张" * 31, "姓名不能超过30个字"),
    ("张三3", "姓名只能包含汉字、字母和间隔号“·”"),
    ("·张三", "姓名只能包含汉字、字母和间隔号“·”"),
    ("<script>", "姓名只能包含汉字、字母和间隔号“·”"),
])
def test_bad_names(raw, message):
    with pytest.raises(ValueError, match=message):
        clean_name(raw)


def test_ages():
    assert clean_age("38", "complainant") == 38
    assert clean_age("３８岁", "complainant") == 38
    assert clean_age("3", "student") == 3 and clean_age("25", "student") == 25
    for raw, who, message in [("", "student", "请填写年龄"), ("十", "student", "年龄请填写数字"),
                              ("-5", "student", "年龄请填写数字"), ("26", "student", "学生年龄应在3至25岁之间"),
                              ("15", "complainant", "投诉人年龄应在16至100岁之间"),
                              ("101", "complainant", "投诉人年龄应在16至100岁之间")]:
        with pytest.raises(ValueError, match=message):
            clean_age(raw, who)


def test_sex_against_id_number():
    assert sex_conflict(MALE_1988, Sex.MALE) is None
    assert sex_conflict(MALE_1988, None) is None
    assert sex_conflict(MALE_1988, Sex.FEMALE) == "性别与身份证号不一致（按身份证号应为男），请核对"


def test_age_against_id_number_allows_one_year():
    today = date(2026, 11, 23)  # 38 since 2026-05-04
    assert age_conflict(MALE_1988, 38, today) is None
    assert age_conflict(MALE_1988, 37, today) is None and age_conflict(MALE_1988, 39, today) is None
    assert age_conflict(MALE_1988, 40, today) == "年龄与身份证号不一致（按身份证号应为38岁），请核对"
    assert age_conflict(MALE_1988, 36, date(2026, 5, 3)) is None  # still 37 the day before the birthday


def test_g_registry_number_must_embed_the_student_id():
    student = make_id_number("410105", date(2015, 3, 8), 123)
    assert registry_conflict("G" + student, student) is None
    assert registry_conflict("G" + student, None) is None
    assert registry_conflict("J" + make_id_number("410105", date(2015, 3, 8), 125), student) is None
    assert registry_conflict("G" + make_id_number("410105", date(2015, 3, 8), 125), student) is not None
