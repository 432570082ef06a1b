"""Supervisors' pages: the dashboard with drill-down, the escalation queue, monthly reports;
every official's notification inbox; administrators' view of failed deliveries."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    send_file,
)
from flask_login import current_user

from caseflow import jobs
from caseflow.cases import access
from caseflow.chase import queries, rates, supervise
from caseflow.chase.report import COLUMNS, RENDERERS, check_month, get_or_generate, render_html
from caseflow.chase.scan import STEP_LABEL
from caseflow.chase.stats import REPEAT_DEFINITION, Dashboard, month_bounds, previous_month, three_rates
from caseflow.chase.stats import dashboard as build_dashboard
from caseflow.errors import IllegalTransition, InvalidInput
from caseflow.extensions import db, unit_of_work
from caseflow.models import CaseState, Unit
from caseflow.timeutil import SHANGHAI, local_today
from caseflow.web import charts
from caseflow.web.auth import permission_required
from caseflow.web.security import safe_next

bp = Blueprint("supervision", __name__)
supervisors = permission_required("supervise_units")
# Case actions: whoever works cases gets the case (404 outside their tree), then the action's own rule (403).
case_roles = permission_required("work_cases")

STAGES = {"sign": "签收", "verify": "核查（下发至报回）", "handle": "督办办理（下发至报回）", "close": "受理至办结"}
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf",
        "html": "text/html"}


def init_supervision(app: Flask) -> None:
    app.jinja_env.globals.update(supervision_contacts=supervise.contacts, escalations_of=queries.escalations_of)
    @app.context_processor
    def _unread():
        if has_request_context() and current_user.is_authenticated:
            return {"unread_notifications": queries.unread_count(current_user)}
        return {}


def _scope() -> Unit:
    """The unit asked for (``?unit=CODE``), which must lie in the user's part of the tree (else 404)."""
    return access.unit_in_scope(current_user, request.args.get("unit"))


def _breadcrumbs(unit: Unit) -> list[Unit]:
    codes = unit.ancestor_codes[len(current_user.unit.ancestor_codes) - 1:]
    found = {u.code: u for u in db.session.scalars(sa.select(Unit).where(Unit.code.in_(codes)))}
    return [found[c] for c in codes]


@bp.get("/dashboard")
@supervisors
def dashboard():
    """Counts, rates, overdue by unit (drill-down), 12-month trend — for the user's part of the tree."""
    scope = _scope()
    d = build_dashboard(scope)
    trend = d.trend
    months = [t["month"] for t in trend]
    chart_trend = charts.line_chart("近12个月受理与办结数", months, {
        "受理": [t["received"] for t in trend], "办结": [t["closed"] for t in trend]})
    chart_rates = charts.line_chart("近12个月按时办结率与评价满意率", months, {
        "按时办结率": [t["completion"] for t in trend], "评价满意率": [t["satisfaction"] for t in trend]}, percent=True)
    chart_overdue = charts.bar_chart("逾期单据数（按下级单位）", [(name, n) for _u, name, n in d.overdue_by_unit])
    chart_states = charts.bar_chart("各状态投诉数", [(s.label, n) for s, n in d.state_counts.items() if n])
    chart_stages = charts.bar_chart("各环节平均用时（工作日）",
                                    [(STAGES[k], round(v, 1)) for k, v in d.stage_days.items() if v is not None])
    return render_template("supervision/dashboard.html", d=d, scope=scope, crumbs=_breadcrumbs(scope),
                           states=CaseState, stages=STAGES, chart_trend=chart_trend, chart_rates=chart_rates,
                           chart_overdue=chart_overdue, chart_states=chart_states, chart_stages=chart_stages,
                           month_end=_month_end, repeat_definition=REPEAT_DEFINITION,
                           follow_up=_follow_up_rates(d))


def _follow_up_rates(d: Dashboard) -> dict:
    """The three rates of the follow-ups (回访), their definitions under the weights in force, and the trend."""
    weights = rates.current_weights()
    total, trend = three_rates(d.scope, local_today(), weights, facts=d.follow_up_facts)
    chart = charts.line_chart("近12个月回访响应率、解决率与满意率", [t["month"] for t in trend], {
        "响应率": [t["response"] for t in trend], "解决率": [t["resolution"] for t in trend],
        "满意率": [t["satisfaction"] for t in trend]}, percent=True)
    return {"total": total, "trend": trend, "chart": chart, "definitions": rates.definitions(weights),
            "percent": rates.percent}


def _month_end(month: str) -> str:
    """The last day of a 'YYYY-MM' month, as the lists' ``to`` parameter takes it."""
    return (month_bounds(month)[1].astimezone(SHANGHAI).date() - timedelta(days=1)).isoformat()


@bp.get("/escalations")
@supervisors
def escalations():
    """督办: what was escalated to my unit, with the reason and the chase history of each case."""
    steps = queries.escalations_to(current_user.unit)
    return render_template("supervision/escalations.html", steps=steps, history=queries.history_of(steps),
                           still_open=queries.still_open, step_labels=STEP_LABEL)


def _supervise(number: str, operation, done: str):
    """Load the case (404 outside the user's tree), call one 督办 operation, and go back where the form was."""
    case = access.get_case(current_user, number)
    try:
        with unit_of_work():
            operation(current_user, case, request.form.get("text"))
    except (InvalidInput, IllegalTransition) as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(safe_next(request.form.get("next")) or f"/cases/{number}")


@bp.post("/cases/<number>/supervision-opinion")
@case_roles
def supervision_opinion(number: str):
    """督办意见 on a lower unit's case."""
    return _supervise(number, supervise.record_opinion, "已记录督办意见，并通知处理责任单位。")


@bp.post("/cases/<number>/escalate")
@case_roles
def escalate(number: str):
    """提请上级督办, with the reason."""
    return _supervise(number, supervise.escalate_up, "已提请上级督办。")


@bp.get("/reports/monthly")
@supervisors
def monthly_report():
    """The 通报 of a month for my unit or one below it; stored once, downloadable as XLSX and PDF."""
    scope = _scope()
    month = request.args.get("month") or previous_month(local_today())
    fmt = request.args.get("format", "html")
    try:
        check_month(month)
    except InvalidInput as exc:
        flash(exc.message, "error")
        month = previous_month(local_today())
    with unit_of_work():
        report = get_or_generate(scope, month)
    if fmt in ("xlsx", "pdf"):
        import io

        return send_file(io.BytesIO(RENDERERS[fmt](report)), mimetype=MIME[fmt], as_attachment=True,
                         download_name=f"monthly-{scope.code}-{month}.{fmt}")
    return render_template("supervision/report.html", scope=scope, month=month, columns=COLUMNS,
                           table=render_html(report, standalone=False), crumbs=_breadcrumbs(scope))


@bp.get("/notifications")
def notifications():
    page = queries.notifications_for(current_user, request.args.get("page", 1, type=int))
    return render_template("supervision/notifications.html", page=page)


@bp.post("/notifications/read")
def notifications_read():
    """Mark one notification (``id``) or all of mine as read."""
    with unit_of_work():
        queries.mark_read(current_user, request.form.get("id", type=int))
    flash("已标记为已读。", "success")
    return redirect(safe_next(request.form.get("next")) or "/notifications")


@bp.get("/admin/deliveries")
@permission_required("administer")
def deliveries():
    """Messages and jobs that failed for good (after all retries)."""
    items, emails = queries.failed_deliveries()
    return render_template("supervision/deliveries.html", items=items, emails=emails)


@bp.post("/admin/deliveries/<int:item_id>/retry")
@permission_required("administer")
def retry_delivery(item_id: int):
    with unit_of_work():
        if not queries.retry_failed(item_id):
            abort(404)
    jobs.dispatch([item_id])
    flash("已重新发送。", "success")
    return redirect("/admin/deliveries")
