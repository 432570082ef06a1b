"""The complaint form shared by citizens and intake clerks, and its conversion to ``ComplaintData``.

The form only maps its fields to ``caseflow.cases.intake`` (where every rule
lives) and shows each (field, message) the intake returns next to its field,
keeping the typed value as typed.  What is the web's own stays here: the
honeypot, the submission token, the school picker and the attachments.
"""
from __future__ import annotations

import secrets

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

from caseflow.cases import receipts, repeats
from caseflow.cases.attachments import check_upload, store
from caseflow.cases.intake import (
    CLERK_SOURCES,
    ETHNIC_GROUPS,
    SCHOOL_FIELDS,
    WEB_SOURCES,
    ComplaintInput,
    IntakeResult,
    PersonInput,
    check_complaint,
)
from caseflow.cases.operations import ComplaintData, find_by_token, submit_complaint
from caseflow.errors import InvalidInput
from caseflow.extensions import unit_of_work
from caseflow.models import Case, CaseSource, Category, NoticePreference, Sex, User

FILES_NOT_KEPT = "浏览器不能保留已选择的附件，请重新选择附件后再提交。"
NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}
ID_INPUT = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
SCHOOL_INPUT = {"autocomplete": "off", "data-school-search": "/schools/search"}


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
    # Not chosen: texts when the phone is a mobile (the intake's rule).
    notice = RadioField("是否接收短信通知（不选择时，填写手机号码的将收到短信）", choices=choice_list(NoticePreference.choices()),
                        validate_choice=False)

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

    # The ways a complaint may arrive through this form (the intake's rule picks among them).
    sources: tuple[CaseSource, ...] = WEB_SOURCES

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.intake: IntakeResult | None = None
        self.uploads: list[tuple[bytes, str]] = []
        self.files_dropped = False

    # -- helpers --

    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def _fail(self, field_name: str, message: str) -> None:
        target = self._fields.get(field_name)
        if target is None:
            self.form_errors.append(message)
        else:
            target.errors.append(message)

    def attach_error(self, exc: InvalidInput) -> None:
        """Show an error the domain raised (it names its own fields) next to our field."""
        target = {"schools": "school1", "attachments": "attachments", "comment": "description"}.get(exc.field or "")
        if target:
            self._fail(target, exc.message)
        else:
            self.form_errors.append(exc.message)

    def _person(self, prefix: str) -> PersonInput:
        """The typed values of one person block, as the intake takes them."""
        return PersonInput(**{name: self._fields[f"{prefix}_{name}"].data
                              for name in ("name", "sex", "age", "ethnicity", "id_number", "phone", "registry_no")
                              if f"{prefix}_{name}" in self._fields})

    def values(self) -> ComplaintInput:
        """The form's fields mapped to the intake's input (a picked school stands for the typed text)."""
        for name in SCHOOL_FIELDS:
            if self[f"{name}_pick"].data:
                self[name].data = self[f"{name}_pick"].data
        return ComplaintInput(complainant=self._person("complainant"), student=self._person("student"),
                              category=self.category.data, description=self.description.data,
                              schools=[self[name].data for name in SCHOOL_FIELDS], source=self.source_value(),
                              notice=self.notice.data)

    def source_value(self) -> str | None:
        return CaseSource.WEB.value

    def validate(self, extra_validators=None) -> bool:
        """The intake's rules, each message shown by its field; then the attachments (the web's own)."""
        super().validate(extra_validators)
        self.intake = check_complaint(self.values(), sources=self.sources)
        for field_name, message in self.intake.problems:
            self._fail(field_name, message)
        self._show_schools(self.intake)
        self._check_attachments()
        self.files_dropped = bool(self.uploads) and self.has_errors()
        if self.files_dropped:
            self._fail("attachments", FILES_NOT_KEPT)
        return not self.has_errors()

    def has_errors(self) -> bool:
        return bool(self.form_errors) or any(f.errors for f in self)

    def _show_schools(self, intake: IntakeResult) -> None:
        """A school found is shown as "code name"; several candidates become the picker's choices."""
        for name, found in zip(SCHOOL_FIELDS, intake.schools, strict=True):
            field, pick = self[name], self[f"{name}_pick"]
            if found.school is not None:
                field.data = f"{found.school.code} {found.school.name}"
                pick.data = None
            elif found.candidates:
                pick.choices = choice_list([(u.code, f"{u.name}（{u.code}，{u.parent.name if u.parent else ''}）")
                                            for u in found.candidates])
                pick.data = None

    def _check_attachments(self) -> None:
        self.uploads = read_uploads(self.attachments)

    def to_complaint(self) -> tuple[ComplaintData, CaseSource]:
        """The validated form as the domain's input record, and how the complaint arrived."""
        if self.intake is None or self.intake.complaint is None or self.intake.source is None:
            raise RuntimeError("to_complaint() needs a form that validated")
        return self.intake.complaint, self.intake.source


class IntakeForm(ComplaintForm):
    """The same form for an intake clerk, plus how the complaint arrived (来源)."""

    source = SelectField("来源", choices=choice_list([(s.value, s.label) for s in CLERK_SOURCES], "请选择来源"),
                         validate_choice=False)
    sources = CLERK_SOURCES

    def source_value(self) -> str | None:
        return self.source.data


def read_uploads(field: MultipleFileField) -> list[tuple[bytes, str]]:
    """The acceptable files of an attachments field as (content, name); each refusal becomes its error.

    The complaint form and the complainant's later material (补充材料) take files by this one check.
    """
    files = [f for f in (field.data or []) if f and f.filename]
    limit = current_app.config["MAX_ATTACHMENTS"]
    if len(files) > limit:
        field.errors.append(f"附件最多{limit}个")
        return []
    uploads = []
    for upload in files:
        data = upload.read()
        try:
            check_upload(data, upload.filename)
        except InvalidInput as exc:
            field.errors.append(exc.message)
            continue
        uploads.append((data, upload.filename))
    return uploads


def prepare(form: ComplaintForm) -> None:
    """Give a freshly shown form its submission token (kept across re-shows)."""
    if not form.token.data or len(form.token.data) > 64:
        form.token.data = new_token()


def submit_form(form: ComplaintForm, *, actor: User | None = None) -> tuple[Case, str | None] | None:
    """Validate, store and commit a submitted form.

    Returns ``(case, access_code)`` for a new case, and for a form that was
    already submitted (a double click, a browser resend, or a parallel request
    that won the race on the unique token) the same code while it is still kept
    (``None`` after that); ``None`` when the form has errors to show.
    """
    prepare(form)
    token = form.token.data
    existing = find_by_token(token)
    if existing is not None:
        return existing, receipts.recall(existing, token)
    if not form.validate():
        return None
    try:
        complaint, source = form.to_complaint()
        if actor is None:  # a citizen sending the same complaint again is told where the first one stands
            repeats.refuse_complaint_resubmission(complaint)
        with unit_of_work():
            case, code = submit_complaint(complaint, source=source, actor=actor, token=token)
            for data, filename in form.uploads:
                store(case, data, filename, user=actor)
    except IntegrityError:
        existing = find_by_token(token)
        if existing is None:
            raise
        return existing, receipts.recall(existing, token)
    except InvalidInput as exc:
        form.attach_error(exc)
        return None
    return case, code
