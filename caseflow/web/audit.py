"""Administrators: who looked at a student's data (by ID number or case number), as a table or CSV.

Searches are POSTed so an ID number never appears in a URL or an access log,
and every search and export is itself recorded in the audit log.
"""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from caseflow import exports
from caseflow.extensions import unit_of_work
from caseflow.identity import InvalidNumber, mask_id_number, parse_id_number
from caseflow.security.audit import ACTION_LABELS, TARGET_LABELS, record_access, who_looked
from caseflow.timeutil import format_datetime_cn, local
from caseflow.web.auth import permission_required

bp = Blueprint("audit", __name__)

CSV_HEADER = ["时间", "用户名", "姓名", "单位", "操作", "对象类型", "对象编号", "说明", "IP地址"]


class AuditSearchForm(FlaskForm):
    id_number = StringField("学生或投诉人身份证号", validators=[Length(max=40)])
    case_number = StringField("投诉编号", validators=[Length(max=40)])
    show = SubmitField("查询")
    export = SubmitField("导出CSV")


def _iso(at) -> str:
    return local(at).strftime("%Y-%m-%d %H:%M:%S")


def _rows(entries, when=_iso) -> list[list[str]]:
    """The table's rows; ``when`` formats the time (ISO in the CSV, the Chinese date on the page)."""
    return [[when(e.created_at), e.user.username if e.user else "",
             e.user.name if e.user else "", e.user.unit.name if e.user else "",
             ACTION_LABELS.get(e.action, e.action), TARGET_LABELS.get(e.target_type, e.target_type), e.target_ref, e.detail or "", e.ip or ""]
            for e in entries]


def _csv(rows: list[list[str]], name: str) -> Response:
    return exports.download("csv", name, exports.csv_chunks(CSV_HEADER, rows))


@bp.route("/admin/audit", methods=["GET", "POST"])
@permission_required("administer")
def search():
    """Find who revealed, printed or looked up one person's data; the search is audited too."""
    form = AuditSearchForm()
    entries, subject = None, ""
    if form.validate_on_submit():
        id_number, case_number = None, (form.case_number.data or "").strip().upper() or None
        if (form.id_number.data or "").strip():
            try:
                id_number = parse_id_number(form.id_number.data).number
            except InvalidNumber as exc:
                form.id_number.errors.append(str(exc))
        if not form.errors and not (id_number or case_number):
            form.id_number.errors.append("请填写身份证号或投诉编号")
        if not form.errors:
            entries = who_looked(id_number=id_number, case_number=case_number)
            subject = " ".join(x for x in (mask_id_number(id_number), case_number) if x)
            export = bool(form.export.data)
            with unit_of_work():
                record_access(current_user, "audit_export" if export else "audit_search",
                              "case" if case_number else "person", case_number or mask_id_number(id_number),
                              subject_id_number=id_number, detail=f"{len(entries)}条")
            if export:
                return _csv(_rows(entries), "audit.csv")
    return render_template("admin/audit.html", form=form, rows=_rows(entries, format_datetime_cn) if entries else [],
                           searched=entries is not None, subject=subject, header=CSV_HEADER), (
        400 if form.errors else 200)
