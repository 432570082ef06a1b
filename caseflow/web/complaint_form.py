"""The complaint form shared by citizens and intake clerks, and its conversion to ``ComplaintData``.

Every check answers in Chinese next to the field it concerns and keeps the
typed value as typed; cross-field checks (sex and age against the ID number,
a G registry number against the student's ID number) land on the field the
person most likely got wrong.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import date

from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from caseflow.attachments import check_upload, store
from caseflow.cases import schools
from caseflow.cases.operations import ComplaintData, PersonData, find_by_token, submit_complaint
from caseflow.errors import InvalidInput
from caseflow.extensions import unit_of_work
from caseflow.identity import (
    IdNumber,
    InvalidNumber,
    age_on,
    parse_id_number,
    parse_phone,
    parse_registry_number,
)
from caseflow.models import Case, CaseSource, Category, Sex, User
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
FILES_NOT_KEPT = "浏览器不能保留已选择的附件，请重新选择附件后再提交。"
NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}
ID_INPUT = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
SCHOOL_INPUT = {"autocomplete": "off", "data-school-search": "/schools/search"}
_DOTS = re.compile(r"[•・･‧∙⋅●]")
_NAME = re.compile(r"^[^\W\d_]+(?:[· ][^\W\d_]+)*$")


# --- pure checks (no request, no database) ------------------------------------------------

def clean_name(raw: str | None) -> str:
    """A person's name: NFKC, the various middle dots unified to "·" (维吾尔族 names)."""
    name = _DOTS.sub("·", unicodedata.normalize("NFKC", raw or "")).strip()
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


def new_token() -> str:
    """The random token of one rendered form, so a resend finds the case already made."""
    return secrets.token_urlsafe(24)


# --- the form ------------------------------------------------------------------------------

def choice_list(options: list[tuple[str, str]], prompt: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices, with an empty first option when ``prompt`` is given."""
    return [SelectChoice(value, label) for value, label in ([("", prompt)] if prompt else []) + list(options)]


def _sex_field(label: str) -> RadioField:
    return RadioField(label, choices=choice_list(Sex.choices()), validate_choice=False)


def _ethnicity_field(label: str) -> SelectField:
    return SelectField(label, choices=choice_list([(e, e) for e in ETHNIC_GROUPS], "请选择"), validate_choice=False)


class ComplaintForm(FlaskForm):
    """群众投诉中小学生学籍管理问题: the complainant, the student, the matter and the schools."""

    token = HiddenField()
    # Honeypot: hidden by CSS, so only robots fill it in.
    website = StringField("请勿填写此项", render_kw={"autocomplete": "off", "tabindex": "-1"})

    complainant_name = StringField("投诉人姓名")
    complainant_sex = _sex_field("投诉人性别")
    complainant_age = StringField("投诉人年龄", render_kw=NUMERIC)
    complainant_ethnicity = _ethnicity_field("投诉人民族")
    complainant_id_number = StringField("投诉人身份证号", render_kw=ID_INPUT)
    complainant_phone = StringField("联系电话", render_kw={"inputmode": "tel", "autocomplete": "tel"})

    student_name = StringField("学生姓名")
    student_sex = _sex_field("学生性别")
    student_age = StringField("学生年龄", render_kw=NUMERIC)
    student_ethnicity = _ethnicity_field("学生民族")
    student_registry_no = StringField("学生学籍号（选填）", render_kw=ID_INPUT)
    student_id_number = StringField("学生身份证号（选填）", render_kw=ID_INPUT)

    category = SelectField("投诉类别", choices=choice_list(Category.choices(), "请选择投诉类别"), validate_choice=False)
    school1 = StringField("涉及的学校", render_kw=SCHOOL_INPUT)
    school1_pick = RadioField("请选择学校", choices=[], validate_choice=False)
    school2 = StringField("涉及的第二所学校（选填）", render_kw=SCHOOL_INPUT)
    school2_pick = RadioField("请选择第二所学校", choices=[], validate_choice=False)
    description = TextAreaField("投诉内容")
    attachments = MultipleFileField("附件（选填）")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.people: dict[str, PersonData] = {}
        self.school_codes: list[str] = []
        self.uploads: list[tuple[bytes, str]] = []
        self.files_dropped = False

    # -- helpers --

    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def _fail(self, field_name: str, message: str) -> None:
        getattr(self, field_name).errors.append(message)

    def attach_error(self, exc: InvalidInput) -> None:
        """Show an error the domain raised (it names its own fields) next to our field."""
        target = {"schools": "school1", "attachments": "attachments", "comment": "description"}.get(exc.field or "")
        if target:
            self._fail(target, exc.message)
        else:
            self.form_errors.append(exc.message)

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the checks across fields; the outcome is kept in ``people`` etc."""
        super().validate(extra_validators)
        today = local_today()
        for prefix in ("complainant", "student"):
            self._check_person(prefix, today)
        self._check_category_and_text()
        self._check_schools()
        self._check_attachments()
        self._check_extra()
        self.files_dropped = bool(self.uploads) and self.has_errors()
        if self.files_dropped:
            self._fail("attachments", FILES_NOT_KEPT)
        return not self.has_errors()

    def has_errors(self) -> bool:
        return bool(self.form_errors) or any(f.errors for f in self)

    def _parse(self, field_name: str, parse, *args):
        """Run one parser, putting its message by the field; None when it failed."""
        try:
            return parse(getattr(self, field_name).data, *args)
        except (ValueError, InvalidNumber) as exc:
            self._fail(field_name, str(exc))
            return None

    def _check_person(self, prefix: str, today: date) -> None:
        def f(name):
            return f"{prefix}_{name}"

        name = self._parse(f("name"), clean_name)
        sex = Sex(self[f("sex")].data) if self[f("sex")].data in Sex._value2member_map_ else None
        if sex is None:
            self._fail(f("sex"), "请选择性别")
        age = self._parse(f("age"), clean_age, prefix)
        ethnicity = self[f("ethnicity")].data
        if ethnicity not in ETHNIC_GROUPS:
            self._fail(f("ethnicity"), "请选择民族")
        raw_id = (self[f("id_number")].data or "").strip()
        id_number = None
        if raw_id or prefix == "complainant":
            id_number = self._parse(f("id_number"), lambda raw: parse_id_number(raw, today=today))
        if id_number is not None:
            for field_name, message in ((f("sex"), sex_conflict(id_number, sex)),
                                        (f("age"), age_conflict(id_number, age, today))):
                if message and not self[field_name].errors:
                    self._fail(field_name, message)
        person = PersonData(name=name or "", sex=sex, age=age, ethnicity=ethnicity,
                            id_number=id_number.number if id_number else None,
                            birth_date=id_number.birth_date if id_number else None)
        if prefix == "complainant":
            person.phone = self._parse(f("phone"), parse_phone)
        elif (self.student_registry_no.data or "").strip():
            registry = self._parse("student_registry_no", lambda raw: parse_registry_number(raw, today=today))
            if registry is not None:
                conflict = registry_conflict(registry.number, person.id_number)
                if conflict:
                    self._fail("student_registry_no", conflict)
                person.registry_no = registry.number
        self.people[prefix] = person

    def _check_extra(self) -> None:
        """Hook for forms that add fields."""

    def _check_category_and_text(self) -> None:
        if self.category.data not in Category._value2member_map_:
            self._fail("category", "请选择投诉类别")
        text = (self.description.data or "").strip()
        if len(text) < DESCRIPTION_MIN:
            self._fail("description", f"请具体说明投诉的问题，至少{DESCRIPTION_MIN}个字")
        elif len(text) > DESCRIPTION_MAX:
            self._fail("description", f"投诉内容不能超过{DESCRIPTION_MAX}字（现为{len(text)}字），可将材料作为附件上传")

    def _check_schools(self) -> None:
        for index, field_name in enumerate(("school1", "school2")):
            field, pick = self[field_name], self[f"{field_name}_pick"]
            if pick.data:
                field.data = pick.data
            if not (field.data or "").strip():
                if index == 0:
                    self._fail(field_name, "请填写投诉涉及的学校（学校名称或10位学校标识码）")
                continue
            found = schools.resolve(field.data)
            if found.school is not None:
                if found.school.code in self.school_codes:
                    self._fail(field_name, "两所学校不能是同一所")
                    continue
                self.school_codes.append(found.school.code)
                field.data = f"{found.school.code} {found.school.name}"
                pick.data = None
            elif found.candidates:
                pick.choices = choice_list([(u.code, f"{u.name}（{u.code}，{u.parent.name if u.parent else ''}）")
                                            for u in found.candidates])
                pick.data = None
                more = "（仅列出前20所，可输入更完整的名称）" if len(found.candidates) >= schools.SEARCH_LIMIT else ""
                self._fail(field_name, f"找到{len(found.candidates)}所名称相近的学校，请在下面选择一所{more}")
            else:
                self._fail(field_name, "没有找到该学校，请核对学校名称或10位学校标识码")

    def _check_attachments(self) -> None:
        files = [f for f in (self.attachments.data or []) if f and f.filename]
        limit = current_app.config["MAX_ATTACHMENTS"]
        if len(files) > limit:
            self._fail("attachments", f"附件最多{limit}个")
            return
        for upload in files:
            data = upload.read()
            try:
                check_upload(data, upload.filename)
            except InvalidInput as exc:
                self._fail("attachments", exc.message)
                continue
            self.uploads.append((data, upload.filename))

    def to_complaint(self) -> ComplaintData:
        """The validated form as the domain's input record."""
        return ComplaintData(
            complainant=self.people["complainant"], student=self.people["student"],
            category=Category(self.category.data), description=self.description.data.strip(),
            school_codes=list(self.school_codes),
        )


class IntakeForm(ComplaintForm):
    """The same form for an intake clerk, plus how the complaint arrived (来源)."""

    source = SelectField("来源", choices=choice_list(
        [(s.value, s.label) for s in (CaseSource.PHONE, CaseSource.LETTER, CaseSource.UPPER)], "请选择来源"),
        validate_choice=False)

    INTAKE_SOURCES = (CaseSource.PHONE, CaseSource.LETTER, CaseSource.UPPER)

    @property
    def chosen_source(self) -> CaseSource:
        """The source picked; until the form validates, any value (validation names the problem)."""
        return CaseSource(self.source.data) if self.source.data in self.INTAKE_SOURCES else CaseSource.PHONE

    def _check_extra(self) -> None:
        if self.source.data not in self.INTAKE_SOURCES:
            self._fail("source", "请选择投诉来源")


def prepare(form: ComplaintForm) -> None:
    """Give a freshly shown form its submission token (kept across re-shows)."""
    if not form.token.data or len(form.token.data) > 64:
        form.token.data = new_token()


def submit_form(form: ComplaintForm, *, source: CaseSource = CaseSource.WEB,
                actor: User | None = None) -> tuple[Case, str | None] | None:
    """Validate, store and commit a submitted form.

    Returns ``(case, access_code)`` for a new case, ``(case, None)`` when this
    form was already submitted (a double click, a browser resend, or a parallel
    request that won the race on the unique token), and ``None`` when the form
    has errors to show.
    """
    prepare(form)
    token = form.token.data
    existing = find_by_token(token)
    if existing is not None:
        return existing, None
    if not form.validate():
        return None
    try:
        with unit_of_work():
            case, code = submit_complaint(form.to_complaint(), source=source, actor=actor, token=token)
            for data, filename in form.uploads:
                store(case, data, filename, user=actor)
    except IntegrityError:
        existing = find_by_token(token)
        if existing is None:
            raise
        return existing, None
    except InvalidInput as exc:
        form.attach_error(exc)
        return None
    return case, code
