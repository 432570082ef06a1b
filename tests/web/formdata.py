"""A valid complaint form as a browser would post it, for the citizen and intake tests."""
from __future__ import annotations

from datetime import date

from caseflow.identity import age_on
from caseflow.timeutil import local_today
from tests.factories import make_id_number

COMPLAINANT_ID = make_id_number("410105", date(1988, 5, 4), 311)
STUDENT_ID = make_id_number("410105", date(2015, 3, 8), 124)  # even: female


def valid_form(**overrides) -> dict:
    today = local_today()
    data = {
        "token": "tok-" + "a" * 20,
        "complainant_name": "张伟", "complainant_sex": "male",
        "complainant_age": str(age_on(date(1988, 5, 4), today)), "complainant_ethnicity": "汉族",
        "complainant_id_number": COMPLAINANT_ID, "complainant_phone": "13812345678",
        "student_name": "张小红", "student_sex": "female",
        "student_age": str(age_on(date(2015, 3, 8), today)), "student_ethnicity": "回族",
        "student_registry_no": "G" + STUDENT_ID, "student_id_number": STUDENT_ID,
        "category": "unregistered", "school1": "4141000001", "school2": "",
        "description": "孩子在金水区第一小学就读两年，学校一直没有给办理学籍注册。",
    }
    data.update(overrides)
    return data
