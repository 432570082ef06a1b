"""Intake registration: a clerk takes down a complaint that came by phone, letter or from above."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template
from flask_login import current_user

from caseflow.web.auth import permission_required
from caseflow.web.complaint_form import IntakeForm, prepare, submit_form

bp = Blueprint("intake", __name__, url_prefix="/intake")


@bp.route("/new", methods=["GET", "POST"])
@permission_required("register_complaint")
def new():
    form = IntakeForm()
    if not form.is_submitted():
        prepare(form)
        return render_template("intake/new.html", form=form)
    result = submit_form(form, actor=current_user)
    if result is None:
        return render_template("intake/new.html", form=form)
    case, code = result
    if code is None:
        flash(f"该投诉已登记，编号{case.number}（重复提交未再次登记）。", "info")
    else:
        flash(f"已登记投诉{case.number}。查询码：{code}（只显示这一次），请告知投诉人并提醒妥善保存。", "success")
    return redirect(f"/cases/{case.number}")
