"""Registry pages: lookup, a case's registry records, imports, problems and reports. Thin views."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from caseflow import jobs
from caseflow.cases.access import get_case
from caseflow.errors import DomainError, InvalidInput
from caseflow.models import RegistryStatus, Role
from caseflow.registry import linkage
from caseflow.registry.lookup import lookup, parse_query
from caseflow.web.auth import roles_required

bp = Blueprint("registry", __name__)
LOOKUP_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
CASE_LOOKUP_ROLES = (Role.OFFICER, Role.SUPERVISOR)


@bp.context_processor
def _labels() -> dict:
    return {"status_labels": {s.value: s.label for s in RegistryStatus}}


class LookupForm(FlaskForm):
    id_number = StringField("身份证件号", validators=[Optional(), Length(max=40)])
    registry_no = StringField("学籍号", validators=[Optional(), Length(max=40)])
    name = StringField("姓名", validators=[Optional(), Length(max=60)])
    birth_date = DateField("出生日期", validators=[Optional()], format="%Y-%m-%d")
    reason = TextAreaField("查询理由", validators=[Optional(), Length(max=500, message="查询理由不能超过500字")])


class LinkForm(FlaskForm):
    record = HiddenField("学籍记录")


def _run_lookup(form: LookupForm, case=None):
    """Validate and run a lookup; on bad input put the message by its field and return None."""
    if not form.validate_on_submit():
        return None
    try:
        query = parse_query(id_number=form.id_number.data, registry_no=form.registry_no.data,
                            name=form.name.data, birth_date=form.birth_date.data)
        result = lookup(current_user, query, case=case, reason=form.reason.data)
    except InvalidInput as exc:
        getattr(form, exc.field or "id_number").errors.append(exc.message)
        return None
    jobs.commit()
    # Do not echo a full ID or registry number back into the page; the result shows it masked.
    form.id_number.data = form.registry_no.data = ""
    return result


@bp.route("/registry/lookup", methods=["GET", "POST"])
@roles_required(*LOOKUP_ROLES)
def lookup_page():
    form = LookupForm()
    result = _run_lookup(form)
    return render_template("registry/lookup.html", form=form, result=result, case=None)


@bp.route("/cases/<number>/registry", methods=["GET", "POST"])
@roles_required(*CASE_LOOKUP_ROLES)
def case_registry(number: str):
    case = get_case(current_user, number)
    form = LookupForm()
    result = _run_lookup(form, case=case)
    return render_template("registry/case.html", case=case, form=form, result=result,
                           links=linkage.links_for(case), link_form=LinkForm())


@bp.route("/cases/<number>/registry/link", methods=["POST"])
@roles_required(*CASE_LOOKUP_ROLES)
def link(number: str):
    case = get_case(current_user, number)
    form = LinkForm()
    try:
        import_id, line_no = (int(x) for x in (form.record.data or "").split(":"))
    except ValueError:
        abort(400)
    try:
        linkage.link_record(current_user, case, import_id, line_no)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("registry.case_registry", number=number))
    jobs.commit()
    flash("已关联该学籍记录，并保存了关联时的记录内容。", "success")
    return redirect(url_for("registry.case_registry", number=number))


_ = send_file, request  # used by the import and report views below
