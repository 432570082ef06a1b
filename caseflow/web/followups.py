"""回访: the officers' list of follow-up calls due, one task's page with the call form, the audited phone reveal."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from caseflow.cases import followups, operations, permissions
from caseflow.errors import DomainError, NotAllowed
from caseflow.extensions import unit_of_work
from caseflow.models import FollowUp, Rating, Resolution
from caseflow.timeutil import local_today
from caseflow.web.auth import permission_required
from caseflow.web.staff_forms import ActionForm, select_choices

bp = Blueprint("followups", __name__)
callers = permission_required("follow_up")


class CallForm(ActionForm):
    """What the officer heard on the call; the domain says what a reached call needs (``check_call``)."""

    reached = RadioField("电话是否接通", choices=select_choices([("yes", "已接通"), ("no", "未接通")]),
                         validators=[InputRequired("请选择电话是否接通")])
    resolution = RadioField("解决情况", choices=select_choices((r.value, r.label) for r in Resolution),
                            validators=[Optional()])
    rating = RadioField("满意度", choices=select_choices((r.value, r.label) for r in Rating), validators=[Optional()])
    note = TextAreaField("回访记录", validators=[Length(max=2000, message="不能超过2000个字")])


class PhoneForm(FlaskForm):
    pass


def _task(number: str) -> FollowUp:
    """The task, only for the unit that owes it (404 for everyone else, as for cases outside one's tree)."""
    task = followups.task_of(number)
    if task is None or not permissions.can(current_user, "call", task, check_state=False):
        abort(404)
    return task


@bp.get("/follow-ups")
@callers
def index():
    """The calls my unit owes, the earliest deadline first, with the counts the chase uses."""
    today = local_today()
    tasks = followups.due_calls(current_user.unit_id, today)
    return render_template("staff/follow_ups.html", tasks=tasks, counts=followups.counts(current_user.unit_id, today),
                           labels={t.id: followups.deadline(t, today) for t in tasks})


def _page(task: FollowUp, form: CallForm | None = None, phone: str | None = None) -> str:
    today = local_today()
    return render_template("staff/follow_up.html", task=task, case=task.case, form=form or CallForm(),
                           phone=phone, label=followups.deadline(task, today),
                           may_call=permissions.can(current_user, "call", task), phone_form=PhoneForm(),
                           may_reveal=permissions.can(current_user, "reveal_complainant", task.case))


@bp.get("/follow-ups/<number>")
@callers
def detail(number: str):
    return _page(_task(number))


@bp.post("/follow-ups/<number>/phone")
@callers
def phone(number: str):
    """The complainant's full phone, to make the call; the look is recorded in the audit log."""
    task = _task(number)
    if not PhoneForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        value = operations.reveal(current_user, task.case, "complainant", "phone")
    resp = make_response(_page(task, phone=value))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/follow-ups/<number>/call")
@callers
def call(number: str):
    """Record one call: unanswered (try again later) or answered with the complainant's answers."""
    task = _task(number)
    form = CallForm()
    if not form.validate_on_submit():
        return _page(task, form), 400
    result = followups.CallResult(
        form.reached.data == "yes", Resolution(form.resolution.data) if form.resolution.data else None,
        Rating(form.rating.data) if form.rating.data else None, form.note.data)
    problems = followups.call_problems(result)
    for field, message in problems:
        form.add_error(field, message)
    if problems:
        return _page(task, form), 400
    try:
        with unit_of_work():
            operations.record_call(current_user, task, result)
    except NotAllowed:
        raise
    except DomainError as exc:
        form.add_error(getattr(exc, "field", None), exc.message)
        return _page(task, form), exc.status
    flash("已记录回访。" if result.reached else "已记录未接通，请稍后再次回访。", "success")
    return redirect("/follow-ups")
