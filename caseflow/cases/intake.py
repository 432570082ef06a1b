"""Complaint intake: every rule a complaint must meet before it is stored, in one place.

The citizen's web form, the intake clerk's form and cases opened from registry
monitoring all come through here (and so will any future API); none of them
carries a rule of its own.  No Flask request and no WTForms: values in, a
``ComplaintData`` out, or every problem as a (field, Chinese message) pair.

Field names are the complaint form's (``complainant_age``, ``student_registry_no``,
``school1``...), so a form shows each message by the field it concerns.  Cross-field
checks (sex and age against the ID number, a G registry number against the
student's ID number) land on the field the person most likely got wrong.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from caseflow.cases import schools
from caseflow.cases.operations import ComplaintData, PersonData
from caseflow.cases.schools import Resolution
from caseflow.errors import InvalidInput
from caseflow.identity import (
    IdNumber,
    InvalidNumber,
    age_on,
    is_mobile,
    parse_id_number,
    parse_phone,
    parse_registry_number,
)
from caseflow.models import CaseSource, Category, NoticePreference, Sex
from caseflow.security.text import strip_bidi
from caseflow.timeutil import local_today

# The 56 ethnic groups in the order of GB/T 3304, then "other".
ETHNIC_GROUPS = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族", "满族", "侗族", "瑶族", "白族", "土家族",
    "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族",
    "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族",
    "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族", "其他",
)

AGE_RANGES = {"complainant": (16, 100), "student": (3, 25)}
NAME_MAX = 30
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 5000
# How a complaint a person told us about can arrive: on the web, or taken down by a clerk.
WEB_SOURCES = (CaseSource.WEB,)
CLERK_SOURCES = (CaseSource.PHONE, CaseSource.LETTER, CaseSource.UPPER)
SCHOOL_FIELDS = ("school1", "school2")
_DOTS = re.compile(r"[•・･‧∙⋅●]")
_NAME = re.compile(r"^[^\W\d_]+(?:[· ][^\W\d_]+)*$")

Problem = tuple[str, str]  # (field, Chinese message)


class ComplaintRefused(InvalidInput):
    """The complaint breaks intake rules; ``problems`` lists every (field, message), the first is the message."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0][1], field=problems[0][0])
        self.problems = problems


# --- pure checks (no request, no database) ------------------------------------------------

def clean_name(raw: str | None) -> str:
    """A person's name: NFKC, the various middle dots unified to "·" (维吾尔族 names)."""
    name = _DOTS.sub("·", unicodedata.normalize("NFKC", strip_bidi(raw or ""))).strip()
    name = re.sub(r"\s*·\s*", "·", re.sub(r"\s+", " ", name))
    if not name:
        raise ValueError("请填写姓名")
    if len(name) > NAME_MAX:
        raise ValueError(f"姓名不能超过{NAME_MAX}个字")
    if not _NAME.match(name):
        raise ValueError("姓名只能包含汉字、字母和间隔号“·”")
    return name


def clean_age(raw: str | None, who: str) -> int:
    """A plausible age in whole years for a complainant or a student."""
    text = unicodedata.normalize("NFKC", raw or "").strip().removesuffix("岁").strip()
    if not text:
        raise ValueError("请填写年龄")
    if not text.isdigit():
        raise ValueError("年龄请填写数字，如38")
    low, high = AGE_RANGES[who]
    age = int(text)
    if not low <= age <= high:
        label = "投诉人" if who == "complainant" else "学生"
        raise ValueError(f"{label}年龄应在{low}至{high}岁之间")
    return age


def sex_conflict(id_number: IdNumber, sex: Sex | None) -> str | None:
    """The message when the typed sex differs from the one the ID number encodes."""
    if sex is not None and sex.value != id_number.sex:
        return f"性别与身份证号不一致（按身份证号应为{Sex(id_number.sex).label}），请核对"
    return None


def age_conflict(id_number: IdNumber, age: int | None, today: date) -> str | None:
    """The message when the typed age is more than one year off the ID number's birth date."""
    actual = age_on(id_number.birth_date, today)
    if age is not None and abs(age - actual) > 1:
        return f"年龄与身份证号不一致（按身份证号应为{actual}岁），请核对"
    return None


def registry_conflict(registry_no: str, student_id: str | None) -> str | None:
    """A G registry number is "G" + the student's ID number (J and L numbers carry no ID number)."""
    if student_id and registry_no.startswith("G") and registry_no[1:] != student_id:
        return "G字头学籍号应为“G”加学生身份证号，与所填学生身份证号不一致"
    return None


# --- the submitted values ------------------------------------------------------------------

@dataclass
class PersonInput:
    """A person as submitted: every value as typed (text), nothing checked yet."""

    name: str | None = None
    sex: str | None = None
    age: str | None = None
    ethnicity: str | None = None
    id_number: str | None = None
    phone: str | None = None  # the complainant's
    registry_no: str | None = None  # the student's
    birth_date: date | None = None  # only from a registry record; a typed person's comes from the ID number


@dataclass
class ComplaintInput:
    """A complaint as submitted by a citizen, a clerk, data monitoring or a client of the domain.

    A person complains (``complainant``), except in data monitoring, where the
    ``reporter`` (the monitoring unit) raises it and the student is as the
    registry records them.
    """

    student: PersonInput
    complainant: PersonInput | None = None
    category: str | None = None
    description: str | None = None
    # Up to two schools, each a name, a 10-digit code or "code name"; an empty text is no school.
    schools: Sequence[str | None] = ()
    source: str | None = CaseSource.WEB.value
    reporter: str | None = None
    # "sms" or "none"; not given: texts when the complainant's phone is a mobile.
    notice: str | None = None


@dataclass
class IntakeResult:
    """The outcome: the complaint when there is no problem, and per school slot what its text named."""

    complaint: ComplaintData | None
    problems: list[Problem]
    source: CaseSource | None = None
    schools: list[Resolution] = field(default_factory=list)


class Problems(list):
    """(field, message) pairs."""

    def add(self, field_name: str, message: str) -> None:
        self.append((field_name, message))

    def on(self, field_name: str) -> bool:
        return any(f == field_name for f, _ in self)


def _parse(problems: Problems, field_name: str, parse, raw):
    """Run one parser; its message goes to ``field_name`` and the result is None when it refused."""
    try:
        return parse(raw)
    except (ValueError, InvalidNumber) as exc:
        problems.add(field_name, str(exc))
        return None


def _readable_id(raw: str, today: date) -> IdNumber | None:
    """What an ID number with a wrong check character encodes, or None if more is wrong with it."""
    try:
        return parse_id_number(raw, today=today, checksum=False)
    except InvalidNumber:
        return None


def check_person(values: PersonInput, who: str, today: date, problems: Problems, *,
                 typed: bool = True) -> PersonData:
    """One person's checks (``who`` is "complainant" or "student"); problems go to ``problems``.

    A ``typed`` person is checked in full.  A person as a registry record has them
    (data monitoring) keeps name and ethnicity as recorded and has no age, but
    their numbers must agree just the same.
    """
    def f(name: str) -> str:
        return f"{who}_{name}"

    sex = Sex(values.sex) if values.sex is not None and values.sex in Sex._value2member_map_ else None
    if typed:
        name = _parse(problems, f("name"), clean_name, values.name)
        if sex is None:
            problems.add(f("sex"), "请选择性别")
        age = _parse(problems, f("age"), lambda raw: clean_age(raw, who), values.age)
        if values.ethnicity not in ETHNIC_GROUPS:
            problems.add(f("ethnicity"), "请选择民族")
    else:
        name, age = " ".join((values.name or "").split()), None
        if not name:
            problems.add(f("name"), "请填写姓名")
    raw_id = (values.id_number or "").strip()
    id_number = None
    if raw_id or (typed and who == "complainant"):
        id_number = _parse(problems, f("id_number"), lambda raw: parse_id_number(raw, today=today), values.id_number)
    # A wrong check character still tells the birth date and sex: their conflicts show in the same round.
    encoded = id_number if id_number is not None or not raw_id else _readable_id(raw_id, today)
    if encoded is not None:
        for field_name, message in ((f("sex"), sex_conflict(encoded, sex)),
                                    (f("age"), age_conflict(encoded, age, today))):
            if message and not problems.on(field_name):
                problems.add(field_name, message)
    person = PersonData(name=name or "", sex=sex, age=age, ethnicity=values.ethnicity or None,
                        id_number=id_number.number if id_number else None,
                        birth_date=id_number.birth_date if id_number else values.birth_date)
    if typed and who == "complainant":
        person.phone = _parse(problems, f("phone"), parse_phone, values.phone)
    elif (values.registry_no or "").strip():
        registry = _parse(problems, f("registry_no"), lambda raw: parse_registry_number(raw, today=today),
                          values.registry_no)
        if registry is not None:
            conflict = registry_conflict(registry.number, person.id_number)
            if conflict:
                problems.add(f("registry_no"), conflict)
            person.registry_no = registry.number
    return person


def _check_category_and_text(category: str | None, description: str | None, problems: Problems) -> Category | None:
    """The category chosen (None when it is not one), and the description's length."""
    chosen = Category(category) if category is not None and category in Category._value2member_map_ else None
    if chosen is None:
        problems.add("category", "请选择投诉类别")
    text = strip_bidi(description or "").strip()
    if len(text) < DESCRIPTION_MIN:
        problems.add("description", f"请具体说明投诉的问题，至少{DESCRIPTION_MIN}个字")
    elif len(text) > DESCRIPTION_MAX:
        problems.add("description", f"投诉内容不能超过{DESCRIPTION_MAX}字（现为{len(text)}字），可将材料作为附件上传")
    return chosen


def _check_notice(raw: str | None, phone: str | None, problems: Problems) -> NoticePreference:
    """Texts or none: not chosen, texts when the phone is a mobile; texts chosen need a mobile."""
    mobile = is_mobile(phone)
    if not raw:
        return NoticePreference.SMS if mobile else NoticePreference.NONE
    if raw not in NoticePreference._value2member_map_:
        problems.add("notice", "请选择是否接收短信通知")
        return NoticePreference.NONE
    notice = NoticePreference(raw)
    if notice is NoticePreference.SMS and phone and not mobile:
        problems.add("notice", "短信只能发送到手机。请填写手机号码，或选择“不接收短信”")
    return notice


def _check_schools(texts: Sequence[str | None], problems: Problems) -> tuple[list[Resolution], list[str]]:
    """Resolve each school text (the first is required): (what each slot named, the codes found)."""
    resolutions: list[Resolution] = []
    codes: list[str] = []
    slots = [*list(texts)[:len(SCHOOL_FIELDS)], None, None][:len(SCHOOL_FIELDS)]
    for index, (field_name, text) in enumerate(zip(SCHOOL_FIELDS, slots, strict=True)):
        found = schools.resolve(text) if (text or "").strip() else Resolution()
        if found.school is not None and found.school.code in codes:
            problems.add(field_name, "两所学校不能是同一所")
            found = Resolution()
        elif found.school is not None:
            codes.append(found.school.code)
        elif found.candidates:
            more = "（仅列出前20所，可输入更完整的名称）" if len(found.candidates) >= schools.SEARCH_LIMIT else ""
            problems.add(field_name, f"找到{len(found.candidates)}所名称相近的学校，请在下面选择一所{more}")
        elif (text or "").strip():
            problems.add(field_name, "没有找到该学校，请核对学校名称或10位学校标识码")
        elif index == 0:
            problems.add(field_name, "请填写投诉涉及的学校（学校名称或10位学校标识码）")
        resolutions.append(found)
    return resolutions, codes


def check_complaint(values: ComplaintInput, *, sources: Sequence[CaseSource] = WEB_SOURCES,
                    today: date | None = None) -> IntakeResult:
    """Every intake rule over a submitted complaint; ``sources`` are the ways it may arrive by this path."""
    today = today or local_today()
    problems = Problems()
    source = next((s for s in sources if s.value == values.source), None)
    monitoring = source is CaseSource.MONITORING
    if monitoring:
        complainant = PersonData(name=(values.reporter or "").strip())
        if not complainant.name:
            problems.add("reporter", "请注明发现问题的单位")
    else:
        complainant = check_person(values.complainant or PersonInput(), "complainant", today, problems)
    student = check_person(values.student, "student", today, problems, typed=not monitoring)
    category = _check_category_and_text(values.category, values.description, problems)
    resolutions, codes = _check_schools(values.schools, problems)
    if source is None:
        problems.add("source", "请选择投诉来源")
    notice = _check_notice(values.notice, complainant.phone, problems)
    complaint = None
    if not problems and category is not None:
        complaint = ComplaintData(complainant=complainant, student=student, category=category,
                                  description=(values.description or "").strip(), school_codes=codes, notice=notice)
    return IntakeResult(complaint=complaint, problems=list(problems), source=source, schools=resolutions)


def validate_complaint(values: ComplaintInput, *, sources: Sequence[CaseSource] = WEB_SOURCES,
                       today: date | None = None) -> ComplaintData:
    """The complaint ready for ``operations.submit_complaint``, or ``ComplaintRefused`` with every problem."""
    result = check_complaint(values, sources=sources, today=today)
    if result.complaint is None:
        raise ComplaintRefused(result.problems)
    return result.complaint
