"""Intake registration: a clerk takes down a complaint that came by phone, letter or from above."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template
from flask_login import current_user

from caseflow.cases import access, receipts, repeats
from caseflow.models import Case, CaseSource
from caseflow.web.auth import permission_required
from caseflow.web.complaint_form import IntakeForm, prepare, submit_form

bp = Blueprint("intake", __name__, url_prefix="/intake")


def landing(case: Case) -> str:
    """Where to send whoever just registered ``case``: its page, or (when it routed above their unit,
    out of their sight) the page that says where it went."""
    if access.can_see_case(current_user, case):
        return f"/cases/{case.number}"
    return f"/intake/registered/{case.number}"


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
    matches = repeats.matches_of(case)
    if matches:
        flash(f"发现{len(matches)}件可能的重复投诉（" + "、".join(f"{m.case.number}，{m.reason.label}" for m in matches)
              + "），已提示处理责任单位决定是否并单。", "warning")
    target = landing(case)
    if target != f"/cases/{case.number}":
        return redirect(target)  # the receipt page shows the code itself
    if code is None:
        flash(f"该投诉已登记，编号{case.number}（重复提交未再次登记）。", "info")
    else:
        flash(f"已登记投诉{case.number}。查询码：{code}（只显示这一次），请告知投诉人并提醒妥善保存。", "success")
    return redirect(target)


@bp.get("/registered/<number>")
@permission_required("work_cases")
def registered(number: str):
    """A case I registered that went to a unit above mine: where it went, and the printable receipt."""
    case = access.get_registered_by(current_user, number)
    code = receipts.recall(case, case.submission_token) if case.source is not CaseSource.MONITORING else None
    return render_template("intake/registered.html", case=case, code=code,
                           ministry=receipts.ministry_note(case) if receipts.goes_to_ministry(case) else None,
                           visible=access.can_see_case(current_user, case))
