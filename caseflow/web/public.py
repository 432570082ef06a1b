"""The citizen side: no account, a complaint form, a receipt, and tracking by number + access code.

A citizen reaches a case only through the track grants of their session: the
numbers they submitted in this browser or opened with the right access code.
The grants and the receipt are kept server-side (``security.citizen_sessions``);
the cookie carries only the session's random id.
"""
from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired

from caseflow.cases import citizen_actions, permissions, receipts, schools, tracking
from caseflow.cases.operations import rate_case
from caseflow.errors import IllegalTransition, InvalidInput
from caseflow.extensions import unit_of_work
from caseflow.guidance import faq
from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.models import Case, NoticePreference, Rating
from caseflow.security.audit import record_access
from caseflow.timeutil import format_date_cn, format_datetime_cn
from caseflow.web import guidance
from caseflow.web.citizen import citizen, keep
from caseflow.web.complaint_form import (
    FILES_NOT_KEPT,
    ComplaintForm,
    choice_list,
    prepare,
    read_uploads,
    submit_form,
)
from caseflow.web.http import content_disposition

bp = Blueprint("public", __name__)

MAX_GRANTS = 10


class TrackForm(FlaskForm):
    number = StringField("投诉编号", validators=[InputRequired("请填写投诉编号")])
    code = StringField("查询码", validators=[InputRequired("请填写查询码")])


class RatingForm(FlaskForm):
    rating = RadioField("您对办理结果是否满意", choices=choice_list(Rating.choices()), validate_choice=False,
                        validators=[AnyOf(list(Rating._value2member_map_), "请选择满意程度")])
    comment = TextAreaField("意见（选择“不满意”时必填）")


class MaterialForm(FlaskForm):
    """补充材料: more text and files, checked as the complaint form's."""

    text = TextAreaField("补充说明")
    attachments = MultipleFileField("附件（PDF、JPG或PNG，选填）")


class WithdrawForm(FlaskForm):
    """撤诉: a reason, then a confirmation (``confirm`` is set by the confirmation page's button)."""

    reason = TextAreaField("撤诉理由")
    confirm = HiddenField()


class NoticeForm(FlaskForm):
    notice = RadioField("短信通知", choices=choice_list(NoticePreference.choices()), validate_choice=False,
                        validators=[AnyOf(list(NoticePreference._value2member_map_), "请选择是否接收短信通知")])


def grants() -> list[str]:
    """The case numbers this browser may see."""
    return list(citizen().get("track_grants", []))


def grant(number: str, **changes) -> None:
    """Let this browser see the case (at most the last ``MAX_GRANTS`` cases)."""
    kept = [n for n in grants() if n != number]
    keep(track_grants=[*kept, number][-MAX_GRANTS:], **changes)


def has_grant(number: str) -> bool:
    return number in grants()


def receipt_code(number: str) -> str | None:
    """The access code of the receipt this browser was shown for ``number`` (only right after submitting)."""
    receipt = citizen().get("receipt") or {}
    return receipt.get("code") if receipt.get("number") == number else None


def _person(person, *, student: bool = False) -> dict:
    return {
        "name": person.name, "sex": person.sex.label if person.sex else "", "age": person.age or "",
        "ethnicity": person.ethnicity or "", "id_number": mask_id_number(person.id_number),
        "phone": mask_phone(person.phone), "registry_no": mask_registry_number(person.registry_no) if student else "",
    }


def _receipt(case: Case, code: str | None, token: str | None) -> dict:
    """What the receipt shows, kept in the session so a resend shows the same receipt."""
    return {
        "token": token, "number": case.number, "code": code, "state": case.state.label,
        "received": format_datetime_cn(case.received_at), "unit": case.responsible_unit.name,
        "contact": {"hotline": case.responsible_unit.hotline, "phone": case.responsible_unit.phone,
                    "address": case.responsible_unit.address},
        "category": case.category.label, "schools": [s.name for s in case.schools], "notice": case.notice.label,
        "action_due": format_date_cn(case.action_due_on), "days": tracking.process_days(),
        "ministry": receipts.ministry_note(case) if receipts.goes_to_ministry(case) else None,
        "complainant": _person(case.complainant), "student": _person(case.student, student=True),
    }


@bp.route("/")
def index():
    return render_template("public/index.html")


@bp.route("/schools/search")
def school_search():
    """JSON for the school picker: at most 20 schools by name substring or code prefix."""
    q = request.args.get("q", "")[:50]
    return jsonify([schools.as_json(u) for u in schools.search(q)])


@bp.route("/complaints/new", methods=["GET", "POST"])
def new_complaint():
    form = ComplaintForm()
    if not form.is_submitted():
        prepare(form)
        category, answers = guidance.faq_for_form(request.args.get("category"))
        if category is not None:
            form.category.data = category.value
        every = [] if category is not None else faq.entries()  # for the script: each category's answers
        return render_template("public/new.html", form=form, answers=answers, category=category,
                               by_category=faq.by_category(every), rules=faq.cited(answers + every))
    if form.is_bot():
        return render_template("public/thanks.html")
    kept = citizen().get("receipt")
    if kept and form.token.data and kept.get("token") == form.token.data:
        return redirect(url_for(".receipt"))
    result = submit_form(form)
    if result is None:
        return render_template("public/new.html", form=form)
    case, code = result
    guidance.count_if_read_first(case.category)
    if code is not None:
        grant(case.number, receipt=_receipt(case, code, form.token.data))
    elif not (kept and kept.get("number") == case.number):
        grant(case.number, receipt=_receipt(case, None, form.token.data))
    else:
        grant(case.number)
    return redirect(url_for(".receipt"))


@bp.route("/complaints/receipt")
def receipt():
    data = citizen().get("receipt")
    if not data:
        flash("没有可显示的投诉回执。如已提交投诉，请凭投诉编号和查询码查询。", "info")
        return redirect(url_for(".track"))
    return render_template("public/receipt.html", r=data)


@bp.route("/track", methods=["GET", "POST"])
def track():
    form = TrackForm()
    if not form.is_submitted():
        form.number.data = tracking.normalise_number(request.args.get("number"))
    elif form.validate():
        try:
            with unit_of_work(keep=(InvalidInput,)):  # keep the counted failure
                case = tracking.open_case(form.number.data, form.code.data, request.remote_addr)
        except InvalidInput as exc:
            form.code.errors.append(exc.message)
        else:
            grant(case.number)
            return redirect(url_for(".case", number=case.number))
    return render_template("public/track.html", form=form)


def _granted_case(number: str) -> Case:
    number = tracking.normalise_number(number)
    if not has_grant(number):
        abort(redirect(url_for(".track", number=number)))
    case = tracking.find(number)
    if case is None:
        abort(404)
    return case


def _show(case: Case, rating_form: RatingForm | None = None, **forms: FlaskForm):
    """The tracking page, with the complainant's forms (those in ``forms`` as typed, with their errors).

    A merged repeat complaint shows its primary's progress (never its people); the complainant's own
    forms stay on their own case.
    """
    shown = tracking.followed(case)
    notice = forms.pop("notice_form", None) or NoticeForm(notice=case.notice.value, formdata=None)
    return render_template(
        "public/case.html", case=case, shown=shown, timeline=tracking.followed_timeline(case),
        progress=tracking.progress(shown), rating_form=rating_form or RatingForm(),
        can_rate=tracking.can_rate(case), merged_note=tracking.merged_note(case),
        merged_closed=tracking.merged_and_closed(case), reply=tracking.public_reply(case),
        can=lambda action: permissions.complainant_can(action, case),
        material_form=forms.pop("material_form", None) or MaterialForm(formdata=None),
        withdraw_form=forms.pop("withdraw_form", None) or WithdrawForm(formdata=None), notice_form=notice,
    )


@bp.route("/track/<number>")
def case(number: str):
    return _show(_granted_case(number))


@bp.route("/track/<number>/my-data")
def my_data(number: str):
    """Download what caseflow holds about the complainant and the student (PIPL access request), audited."""
    case = _granted_case(number)
    with unit_of_work():
        record_access(None, "data_request", "case", case.number, detail="投诉人下载个人信息")
    body = json.dumps(tracking.personal_data(case), ensure_ascii=False, indent=2)
    resp = make_response(body)
    resp.headers["Content-Type"] = "application/json; charset=utf-8"
    resp.headers["Content-Disposition"] = content_disposition(f"投诉{case.number}-个人信息.json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/track/<number>/rate", methods=["POST"])
def rate(number: str):
    case = _granted_case(number)
    form = RatingForm()
    if not form.validate():
        return _show(case, form)
    try:
        with unit_of_work():
            rate_case(case, Rating(form.rating.data), form.comment.data)
    except InvalidInput as exc:
        form.comment.errors.append(exc.message)
        return _show(case, form)
    if case.rating is None:
        flash("已收到您的意见，本投诉将重新办理。", "success")
    else:
        flash("感谢您的评价。", "success")
    return redirect(url_for(".case", number=case.number))


# --- the complainant after submitting (caseflow.cases.citizen_actions) ------------------------------

def _refused(case: Case, exc: IllegalTransition):
    """An action the case's state no longer allows (finished meanwhile): say so on the page."""
    flash(exc.message, "error")
    return redirect(url_for(".case", number=case.number))


@bp.route("/track/<number>/material", methods=["POST"])
def add_material(number: str):
    """补充材料: the text is kept on any error; files cannot be kept by a browser and are asked for again."""
    case = _granted_case(number)
    form = MaterialForm()
    if not form.validate():  # the CSRF token only
        return _show(case, material_form=form), 400
    uploads = read_uploads(form.attachments)
    if not form.attachments.errors:
        try:
            with unit_of_work():
                citizen_actions.add_material(case, form.text.data, uploads)
        except IllegalTransition as exc:
            return _refused(case, exc)
        except InvalidInput as exc:
            (form.attachments if exc.field == "attachments" else form.text).errors.append(exc.message)
    if form.text.errors or form.attachments.errors:
        if uploads:
            form.attachments.errors.append(FILES_NOT_KEPT)
        return _show(case, material_form=form), 400
    flash("补充材料已提交，承办单位会收到通知。", "success")
    return redirect(url_for(".case", number=case.number))


@bp.route("/track/<number>/withdraw", methods=["POST"])
def withdraw(number: str):
    """撤诉 in two steps: the reason, then a confirmation page (works without JavaScript)."""
    case = _granted_case(number)
    form = WithdrawForm()
    if not form.validate():  # the CSRF token only
        return _show(case, withdraw_form=form), 400
    try:
        if form.confirm.data != "1":
            form.reason.data = citizen_actions.withdrawal_reason(case, form.reason.data)
            return render_template("public/withdraw_confirm.html", case=case, form=form)
        with unit_of_work():
            citizen_actions.withdraw(case, form.reason.data)
    except IllegalTransition as exc:
        return _refused(case, exc)
    except InvalidInput as exc:
        form.reason.errors.append(exc.message)
        return _show(case, withdraw_form=form), 400
    flash("您已撤回投诉，办理结束。", "success")
    return redirect(url_for(".case", number=case.number))


@bp.route("/track/<number>/notice", methods=["POST"])
def notice(number: str):
    """SMS or none, changed on the tracking page."""
    case = _granted_case(number)
    form = NoticeForm()
    if form.validate():
        try:
            with unit_of_work():
                citizen_actions.choose_notice(case, NoticePreference(form.notice.data))
        except IllegalTransition as exc:
            return _refused(case, exc)
        except InvalidInput as exc:
            form.notice.errors.append(exc.message)
    if form.notice.errors:
        return _show(case, notice_form=form), 400
    flash("已保存您的短信通知设置。", "success")
    return redirect(url_for(".case", number=case.number))
