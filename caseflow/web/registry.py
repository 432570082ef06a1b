"""Registry pages: lookup, a case's registry records, imports, problems and reports. Thin views."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from caseflow import exports
from caseflow.cases.access import get_case, unit_in_scope
from caseflow.errors import DomainError, InvalidInput
from caseflow.extensions import db, unit_of_work
from caseflow.models import ProblemKind, RegistryImport, RegistrySource, RegistryStatus
from caseflow.registry import importer, linkage, monitoring
from caseflow.registry.jobs import start_import
from caseflow.registry.lookup import lookup, parse_query
from caseflow.registry.problems import headcount_report, reconcile, run_check
from caseflow.registry.reports import to_csv, to_xlsx
from caseflow.web.auth import permission_required
from caseflow.web.fields import CnDateField, CnIntegerField
from caseflow.web.intake import landing

bp = Blueprint("registry", __name__)


@bp.app_context_processor
def _labels() -> dict:
    """For every template: status labels, and ``registry_links(case)`` so the case page and the forms
    can show the frozen registry records (``{% include "registry/_case_links.html" %}``)."""
    return {"status_labels": {s.value: s.label for s in RegistryStatus}, "registry_links": linkage.links_for}


class LookupForm(FlaskForm):
    id_number = StringField("身份证件号", validators=[Optional(), Length(max=40)])
    registry_no = StringField("学籍号", validators=[Optional(), Length(max=40)])
    name = StringField("姓名", validators=[Optional(), Length(max=60)])
    birth_date = CnDateField("出生日期", validators=[Optional()], format="%Y-%m-%d")
    reason = TextAreaField("查询理由", validators=[Optional(), Length(max=500, message="查询理由不能超过500字")])


class LinkForm(FlaskForm):
    record = HiddenField("学籍记录")


def _run_lookup(form: LookupForm, case=None):
    """Validate and run a lookup; on bad input put the message by its field and return None."""
    if not form.validate_on_submit():
        return None
    try:
        with unit_of_work():
            query = parse_query(id_number=form.id_number.data, registry_no=form.registry_no.data,
                                name=form.name.data, birth_date=form.birth_date.data)
            result = lookup(current_user, query, case=case, reason=form.reason.data)
    except InvalidInput as exc:
        getattr(form, exc.field or "id_number").errors.append(exc.message)
        return None
    # Do not echo a full ID or registry number back into the page; the result shows it masked.
    form.id_number.data = form.registry_no.data = ""
    return result


@bp.route("/registry/lookup", methods=["GET", "POST"])
@permission_required("use_registry")
def lookup_page():
    form = LookupForm()
    result = _run_lookup(form)
    return render_template("registry/lookup.html", form=form, result=result, case=None)


@bp.route("/cases/<number>/registry", methods=["GET", "POST"])
@permission_required("look_up_registry")
def case_registry(number: str):
    case = get_case(current_user, number)
    form = LookupForm()
    if request.form.get("student"):  # "look this student up" from the case or order page
        _fill_with_student(form, case)
    result = _run_lookup(form, case=case)
    return render_template("registry/case.html", case=case, form=form, result=result,
                           links=linkage.links_for(case), link_form=LinkForm())


def _fill_with_student(form: LookupForm, case) -> None:
    """Ask about the case's student: by ID number, else registry number, else name and birth date."""
    student = case.student
    form.id_number.data, form.registry_no.data, form.name.data, form.birth_date.data = (
        (student.id_number, None, None, None) if student.id_number else
        (None, student.registry_no, None, None) if student.registry_no else
        (None, None, student.name, student.birth_date))


@bp.route("/cases/<number>/registry/link", methods=["POST"])
@permission_required("look_up_registry")
def link(number: str):
    case = get_case(current_user, number)
    form = LinkForm()
    try:
        import_id, registry_key = map(int, (form.record.data or "").split(":"))
    except ValueError:
        abort(400)
    if not (0 < import_id < 2**31 and -2**63 <= registry_key < 2**63):
        abort(400)
    try:
        with unit_of_work():
            linkage.link_record(current_user, case, import_id, registry_key)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("registry.case_registry", number=number))
    flash("已关联该学籍记录，并保存了关联时的记录内容。", "success")
    return redirect(url_for("registry.case_registry", number=number))


# --- imports ---------------------------------------------------------------------------------

class ImportForm(FlaskForm):
    source = SelectField("数据来源", choices=[SelectChoice(v, label) for v, label in RegistrySource.choices()],
                         validators=[DataRequired("请选择数据来源")])
    as_of = CnDateField("数据日期", validators=[DataRequired("请填写数据日期，如2026-11-01")], format="%Y-%m-%d")
    file = FileField("数据文件（CSV或XLSX）", validators=[FileRequired("请选择要导入的文件")])


@bp.route("/registry/imports", methods=["GET", "POST"])
@permission_required("administer")
def imports():
    form = ImportForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                imp = importer.accept_upload(form.file.data, RegistrySource(form.source.data), form.as_of.data,
                                             current_user)
        except DomainError as exc:
            form.file.errors.append(exc.message)
        else:
            start_import(imp.id)
            return redirect(url_for("registry.import_detail", import_id=imp.id))
    return render_template("registry/imports.html", form=form, imports=importer.recent_imports(),
                           progress_of=importer.progress_of)


@bp.route("/registry/imports/<int:import_id>")
@permission_required("administer")
def import_detail(import_id: int):
    imp = db.get_or_404(RegistryImport, import_id)
    return render_template("registry/import.html", imp=imp, progress=importer.progress_of(imp))


@bp.route("/registry/imports/<int:import_id>/rejects.csv")
@permission_required("administer")
def import_rejects(import_id: int):
    imp = db.get_or_404(RegistryImport, import_id)
    if not imp.reject_report:
        abort(404)
    return send_file(imp.reject_report, mimetype="text/csv", as_attachment=True,
                     download_name=f"学籍导入-{imp.id}-拒绝行.csv")


# --- problems ---------------------------------------------------------------------------------

@bp.route("/registry/problems")
@permission_required("use_registry")
def problems():
    kind = request.args.get("kind") or None
    page = monitoring.problem_page(current_user, kind, request.args.get("page", 1, type=int))
    return render_template("registry/problems.html", page=page, kind=kind, kinds=ProblemKind,
                           summary=monitoring.problem_summary(current_user), form=FlaskForm())


@bp.route("/registry/problems/check", methods=["POST"])
@permission_required("check_registry_problems")
def run_problem_check():
    if not FlaskForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        result = run_check(within=current_user.unit)  # over the caller's part of the tree only
    flash("检查完成：" + "，".join(f"{ProblemKind(k).label} {n} 条" for k, n in result.counts.items()), "success")
    return redirect(url_for("registry.problems"))


@bp.route("/registry/problems/<int:problem_id>/case", methods=["POST"])
@permission_required("open_problem_case")
def problem_case(problem_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        case = monitoring.open_case(current_user, problem_id)
    flash(f"已立案，编号 {case.number}。", "success")
    return redirect(landing(case))


# --- reports ----------------------------------------------------------------------------------

@bp.route("/registry/reports")
@permission_required("use_registry")
def reports():
    level = request.args.get("level", "city")
    if level not in ("city", "county", "school"):
        abort(400)
    within = unit_in_scope(current_user, request.args.get("unit"))
    report = reconcile(None, level, within, fresh=False)
    return _respond(report, "registry/reports.html", f"学籍比对-{level}", level=level, within=within)


class HeadcountForm(FlaskForm):
    school_code = StringField("学校标识码", validators=[DataRequired("请填写学校标识码"), Length(max=20)])
    grade = StringField("年级", validators=[DataRequired("请填写年级，如四年级"), Length(max=20)])
    counted_on = CnDateField("核查日期", validators=[DataRequired("请填写核查日期")], format="%Y-%m-%d")
    counted = CnIntegerField("现场核查学生数", validators=[DataRequired("请填写人数"),
                                                          NumberRange(0, 100_000, "请填写0到100000之间的人数")])


@bp.route("/registry/reports/headcount", methods=["GET", "POST"])
@permission_required("use_registry")
def headcount():
    form = HeadcountForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                monitoring.record_headcount(current_user, form.school_code.data, form.grade.data,
                                            form.counted_on.data, form.counted.data)
        except InvalidInput as exc:
            getattr(form, exc.field or "school_code").errors.append(exc.message)
        else:
            flash("已保存现场核查人数。", "success")
            return redirect(url_for("registry.headcount", on=form.counted_on.data.isoformat()))
    on = request.args.get("on") or (form.counted_on.data.isoformat() if form.counted_on.data else None)
    report = None
    if on:
        try:
            report = headcount_report(date.fromisoformat(on), current_user.unit)
        except ValueError:
            abort(400)
        if request.args.get("format") in ("csv", "xlsx"):
            return _respond(report, "", f"现场核查-{on}")
    return render_template("registry/headcount.html", form=form, report=report, on=on)


def _respond(report, template: str, name: str, **context):
    fmt = request.args.get("format", "html")
    if fmt == "csv":
        return exports.download("csv", f"{name}.csv", [to_csv(report).encode("utf-8")])
    if fmt == "xlsx":
        return exports.download("xlsx", f"{name}.xlsx", [to_xlsx(report)])
    return render_template(template, report=report, **context)
