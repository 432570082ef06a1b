"""The officials' pages: inbox, case list, the case page and the order page with their actions.

Every view loads through ``access`` (404 outside the user's jurisdiction),
calls one operation, commits through ``unit_of_work`` and redirects; a refused
action re-shows the page with the user's text kept and the reason by the field.
"""
from __future__ import annotations

import io
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
)
from flask_login import current_user

from caseflow import retention
from caseflow.cases import (
    access,
    attachments,
    citizen_actions,
    merging,
    operations,
    permissions,
    queries,
    repeats,
)
from caseflow.cases.workflow import CASE_MOVES, ORDER_MOVES
from caseflow.errors import (
    ConcurrentUpdate,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    NotInJurisdiction,
)
from caseflow.extensions import unit_of_work
from caseflow.models import Case, CaseState, Category, Order, OrderKind, OrderState, PauseReason, Verdict
from caseflow.security import redact
from caseflow.web import staff_forms as forms
from caseflow.web.auth import home_for, permission_required
from caseflow.web.security import safe_next

bp = Blueprint("staff", __name__)

case_roles = permission_required("work_cases")
work_roles = permission_required("work_inbox")


# --- helpers -----------------------------------------------------------------------------

def _enum(enum_cls, value: str | None):
    """The enum member for a query-string value, or None for "all" and nonsense."""
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def _action_form(form: forms.ActionForm, target: Case | Order, run: Callable[[], object], done: str,
                 page: Callable[[forms.ActionForm], str], next_url: str):
    """Validate, check the form was made from the current record, run one operation in a unit of work.

    A refusal rolls back and re-shows ``page`` with ``form`` as typed and the reason by its field.
    """
    if not form.validate_on_submit():
        return page(form), 400
    try:
        with unit_of_work():
            seen = target.version_id
            if form.version.data != str(seen):
                raise ConcurrentUpdate()
            run()
            operations.claim_version(target, seen)  # one of two officials acting at once, whatever the action
    except (NotAllowed, NotInJurisdiction):
        raise
    except DomainError as exc:
        if isinstance(exc, ConcurrentUpdate):
            form.version.data = str(target.version_id)  # the next submit is made against what is shown now
        if isinstance(exc, queries.AmbiguousUnit):
            _offer_units(form, exc.candidates)
        form.add_error(getattr(exc, "field", None), exc.message)
        return page(form), exc.status
    flash(done, "success")
    return redirect(next_url)


def _offer_units(form, candidates) -> None:
    """Several units matched the typed text: offer them as choices instead of the text."""
    form.unit_text.data = ""
    if hasattr(form, "unit"):
        form.unit.choices, form.unit.data = _unit_choices(candidates), None
    else:
        form.extra_units = candidates


def _chosen_unit(form, scope: queries.UnitScope):
    """The unit picked from the suggestions or typed (code or name) on a unit chooser."""
    typed = (form.unit_text.data or "").strip()
    return queries.resolve_unit(typed or form.unit.data, scope)


def _unit_choices(units, suggested=()) -> list:
    return forms.select_choices((u.code, f"{u.name}（{u.code}）" + ("（建议）" if u in suggested else ""))
                                for u in units)


EVENT_LABELS = {
    "order_issue": "下发", "extension_request": "申请延期", "extension_approved": "同意延期",
    "extension_refused": "不同意延期", "informed": "告知投诉人", "routing_referral": "跨省投诉提示",
    "chase_remind": "催办", "chase_overdue": "逾期", "chase_escalate": "督办（提请上级）",
    "deadline_recomputed": "时限重新计算", "legal_hold": "设置法律保留", "legal_release": "解除法律保留",
    "supervision_opinion": "督办意见", "escalate_up": "提请上级督办",
    "pause_request": "申请中止计时", "pause_refused": "不同意中止计时",
    "complainant_material": "投诉人补充材料", "notice_changed": "投诉人更改短信通知设置",
    "follow_up_open": "生成回访任务", "follow_up_online": "在线评价，取消电话回访", "follow_up_call": "电话回访",
    "repeat_found": "发现可能的重复投诉", "merge_in": "重复投诉并入本投诉", "unmerge_out": "重复投诉撤销并单",
    "link_related": "关联投诉",
}


def describe_event(event) -> dict:
    """Chinese labels for a timeline row: the move, and the states before and after."""
    is_order = event.action.startswith("order_")
    move = (ORDER_MOVES if is_order else CASE_MOVES).get(event.action.removeprefix("order_"))
    states = OrderState if is_order else CaseState

    def label(value):
        state = _enum(states, value)
        return state.label if state else value

    return {"label": EVENT_LABELS.get(event.action) or (move.label if move else event.action),
            "from": label(event.from_state), "to": label(event.to_state)}


# --- home, lists -------------------------------------------------------------------------------

@bp.get("/staff")
def home():
    """Send each role to where its work is."""
    return redirect(home_for(current_user))


@bp.app_context_processor
def _saved_filters_helper():
    """``my_filters()`` for the navigation: the signed-in official's saved filters (asked only when shown)."""
    return {"my_filters": lambda: queries.saved_filters(current_user)}


def _show_list(list_name: str, build: Callable, template: str, **extra):
    """Parse the list's filters from the query string, build the page, render it."""
    request.args.get("page", type=int)  # a page number no column could hold is a 400 at the edge (web.params)
    filters = queries.ListFilters.from_args(request.args, list_name)
    page = build(current_user, filters)
    return render_template(template, f=filters, page=page, list_name=list_name, sorts=queries.SORTS[list_name],
                           states=list(CaseState if list_name == "cases" else
                                       OrderState.OPEN if list_name == "inbox" else OrderState),
                           categories=list(Category), kinds=list(OrderKind), **extra)


@bp.get("/inbox")
@work_roles
def inbox():
    """The orders my unit must sign, work, or review, and the extensions it must decide; the counts bar above."""
    return _show_list("inbox", queries.order_list, "staff/inbox.html", bulk=_bulk_actions(),
                      task=lambda order: queries.inbox_task(current_user, order),
                      counts=queries.inbox_counts(current_user))


@bp.get("/orders")
@case_roles
def orders():
    """Every order visible to me, with the same filters as the case list."""
    return _show_list("orders", queries.order_list, "staff/orders.html", bulk=_bulk_actions())


def _bulk_actions() -> dict[str, bool]:
    """Which bulk buttons the lists of orders show (the routes check every order again)."""
    return {"sign": permissions.can(current_user, "bulk_sign"), "remind": permissions.can(current_user, "bulk_remind")}


@bp.get("/cases")
@case_roles
def cases():
    """The cases visible to me, filtered, sorted and paged, with the counts per state."""
    return _show_list("cases", queries.case_list, "staff/cases.html")


@bp.post("/filters")
@case_roles
def filter_save():
    """Save the list's current filter under a name (the same name replaces it)."""
    list_name = request.form.get("list", "")
    if list_name not in queries.LISTS:
        abort(400)
    filters = queries.ListFilters.from_args(request.form, list_name)
    try:
        with unit_of_work():
            saved = queries.save_filter(current_user, request.form.get("name", ""), filters)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(f"/{list_name}?{filters.query_string()}")
    flash(f"已保存筛选条件“{saved.name}”，可在导航栏“我的筛选”中找到。", "success")
    return redirect(saved.url)


@bp.post("/filters/delete")
@case_roles
def filter_delete():
    """Delete one of my saved filters (the id is posted; another user's deletes nothing: 404)."""
    filter_id = request.form.get("id", type=int)
    if filter_id is None:
        abort(400)
    with unit_of_work():
        deleted = queries.delete_filter(current_user, filter_id)
    if not deleted:
        abort(404)
    flash("已删除该筛选条件。", "success")
    return redirect(safe_next(request.form.get("next")) or "/cases")


@bp.get("/units/search")
def units_search():
    """JSON for the unit chooser: name substring or code prefix, inside an optional scope."""
    scope = queries.UnitScope(under=queries.unit_by_code(request.args.get("under")),
                              children_of=queries.unit_by_code(request.args.get("children_of")),
                              bureaus_only=request.args.get("bureaus") == "1")
    for key in ("under", "children_of"):
        if request.args.get(key) and getattr(scope, key) is None:
            return jsonify([])
    units = queries.search_units(request.args.get("q", "")[:50], scope)
    return jsonify([{"code": u.code, "name": u.name, "kind": u.kind.label} for u in units])


# --- the case page ----------------------------------------------------------------------------

# Each action's form and the prefix of its fields (the names the page posts; the action is the permission's).
CASE_FORMS: dict[str, tuple[type[forms.FlaskForm], str]] = {
    "accept": (forms.CaseAcceptForm, "accept"),
    "reject": (forms.CaseRejectForm, "reject"),
    "transfer": (forms.CaseTransferForm, "transfer"),
    "refer_up": (forms.CaseReferForm, "refer"),
    "issue_verification": (forms.IssueVerificationForm, "verify"),
    "issue_supervision": (forms.IssueSupervisionForm, "supervise"),
    "close": (forms.CaseCloseForm, "close"),
    "attach": (forms.AttachmentForm, "attach"),
    "legal_hold": (forms.LegalHoldForm, "hold"),
    "merge": (forms.RepeatForm, "merge"),
    "link_related": (forms.RepeatForm, "link"),
    "unmerge": (forms.UnmergeForm, "unmerge"),
}
ORDER_FORMS: dict[str, tuple[type[forms.FlaskForm], str]] = {
    "sign": (forms.SignForm, "sign"),
    "return": (forms.ReturnForm, "return"),
    "relay": (forms.RelayForm, "relay"),
    "report": (forms.ReportForm, "report"),
    "accept": (forms.ReviewAcceptForm, "accept"),
    "send_back": (forms.SendBackForm, "send_back"),
    "request_extension": (forms.ExtensionForm, "extend"),
    "decide_extension": (forms.DecideExtensionForm, "decide"),
    "attach": (forms.AttachmentForm, "attach"),
    "request_pause": (forms.PauseForm, "pause"),
    "decide_pause": (forms.DecidePauseForm, "decidepause"),
    "resume": (forms.ResumeForm, "resume"),
    "review_return": (forms.ReviewReturnForm, "review"),
    "refer_return": (forms.ReferReturnForm, "refer"),
    "remind": (forms.RemindForm, ""),  # posts ``message`` to /orders/<number>/remind (caseflow.web.bulk)
}


def _blank_forms(table: dict, actions: set[str], version: int, prefill: dict[str, dict]) -> dict[str, forms.FlaskForm]:
    """Fresh forms (nothing posted) for the allowed ``actions``, with the record's version and any prefill."""
    out: dict[str, forms.FlaskForm] = {}
    for action in actions & table.keys():  # rights (reveal_*) and actions with blocks of their own have no form
        form_cls, prefix = table[action]
        extra = {} if form_cls is forms.AttachmentForm else {"version": str(version)}
        out[action] = form_cls(prefix=prefix, formdata=None, **extra, **prefill.get(action, {}))
    return out


def _case_forms(case: Case, actions: set[str]) -> dict[str, forms.FlaskForm]:
    """Fresh forms for the actions the user may take on the case now."""
    # The order goes to the units concerned: numbers the complainant typed are not passed on unless retyped.
    summary = redact.redact(case.complaint_summary or case.description)
    prefill = {"issue_verification": {"content": summary, "units": [u.code for u in queries.units_to_verify(case)]}
               if "issue_verification" in actions else {},
               "issue_supervision": {"content": summary},
               "legal_hold": {"hold": "0" if case.legal_hold else "1"}}
    return _blank_forms(CASE_FORMS, actions, case.version_id, prefill)


def _fill_unit_choices(case: Case, out: dict) -> None:
    """Suggested units first (on the way to the case's schools), then the other direct children."""
    unit = case.responsible_unit
    children = queries.child_choices(case, unit)
    suggested = queries.suggested_children(case, unit)
    verify, supervise = out.get("issue_verification"), out.get("issue_supervision")
    if verify is not None and not verify.units.choices:
        extra = [u for u in getattr(verify, "extra_units", []) if u not in children]
        verify.units.choices = _unit_choices(children + extra, suggested)
    if supervise is not None and not supervise.unit.choices:
        supervise.unit.choices = _unit_choices(children, suggested)
    if "transfer" in out and not out["transfer"].unit.choices:
        near = ([unit.parent] if unit.parent else []) + [u for u in children if not u.is_school]
        out["transfer"].unit.choices = _unit_choices(near)


def _case_page(case: Case, override: forms.FlaskForm | None = None, name: str | None = None,
               revealed: dict | None = None) -> str:
    """The case page with the forms of the actions available now (``override`` as typed)."""
    actions = permissions.allowed_actions(current_user, case)
    out = _case_forms(case, actions)
    if override is not None and name:
        out[name] = override
    _fill_unit_choices(case, out)
    matches = _fill_repeat_choices(case, out)
    events = queries.visible_events(current_user, case)
    return render_template(
        "staff/case.html", case=case, actions=actions, forms=out, revealed=revealed or {}, failed=out.get(name),
        chains=queries.order_chains(current_user, case), events=events,
        attachments=queries.visible_attachments(current_user, case),
        describe=describe_event, complainant_actions=citizen_actions.ACTIONS,
        retention_ends=retention.retention_ends(case), repeat_matches=matches,
        repeat_later=_visible(repeats.repeats_of(case)), texts_masked=_any_masked(
            case.description, case.complaint_summary, case.rejection_reason, case.reply, case.routing_note,
            case.rating_comment, case.withdrawal_reason, *(e.note for e in events)),
    )


def _visible(matches: list[repeats.Match]) -> list[tuple[repeats.Match, bool]]:
    """Each match with whether the user may open its case (a match in another unit's tree is named only)."""
    return [(m, access.can_see_case(current_user, m.case)) for m in matches]


def _fill_repeat_choices(case: Case, out: dict) -> list[tuple[repeats.Match, bool]]:
    """The possible repeats of the case; the merge form offers the unmerged ones, the link form the unlinked."""
    matches = repeats.matches_of(case)
    for action, keep in (("merge", lambda m: m.case.state is not CaseState.MERGED),
                         ("link_related", lambda m: not m.linked)):
        form = out.get(action)
        if form is not None and not form.other.choices:
            form.other.choices = forms.select_choices(
                (m.case.number, f"{m.case.number}（{m.reason.label}，{m.case.state.label}）") for m in matches if keep(m))
    return _visible(matches)


def _any_masked(*texts: str | None) -> bool:
    """Whether any of a page's free texts holds a number the page masks."""
    return any(redact.contains(t) for t in texts)


@bp.get("/cases/<number>")
@case_roles
def case_detail(number: str):
    return _case_page(access.get_case(current_user, number))


@bp.post("/cases/<number>/reveal")
@case_roles
def case_reveal(number: str):
    """Show one full ID number or phone on the page; the look is recorded in the audit log."""
    case = access.get_case(current_user, number)
    form = forms.RevealForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            value = operations.reveal(current_user, case, form.person.data, form.field.data)
    except InvalidInput:
        abort(400)
    resp = make_response(_case_page(case, revealed={(form.person.data, form.field.data): value}))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _refused_now(user, action: str, obj: Case | Order) -> bool:
    """True when ``user`` may take ``action`` but not in the record's state now; ``NotAllowed`` when never."""
    try:
        permissions.check(user, action, obj)
    except IllegalTransition:
        return True
    return False


def _case_action(number: str, action: str, run: Callable[[Case, forms.ActionForm], object], done: str):
    """Run one case action posted from the case page."""
    case = access.get_case(current_user, number)
    form_cls, prefix = CASE_FORMS[action]
    form = form_cls(prefix=prefix)
    if _refused_now(current_user, action, case):
        # No longer possible: say so on the current page, the typed text kept.
        form.form_errors.append(f"投诉当前状态为“{case.state.label}”，不能执行该操作（可能已由他人办理）。")
        return _case_page(case, form, action), 409
    return _action_form(form, case, lambda: run(case, form), done, lambda f: _case_page(case, f, action),
                f"/cases/{case.number}")


@bp.post("/cases/<number>/accept")
@case_roles
def case_accept(number: str):
    return _case_action(number, "accept",
                        lambda case, f: operations.accept_case(current_user, case), "已受理该投诉。")


@bp.post("/cases/<number>/reject")
@case_roles
def case_reject(number: str):
    return _case_action(number, "reject",
                        lambda case, f: operations.reject_case(current_user, case, f.reason.data),
                        "已不予受理，并告知投诉人理由。")


@bp.post("/cases/<number>/transfer")
@case_roles
def case_transfer(number: str):
    def run(case, f):
        scope = queries.UnitScope(bureaus_only=True, describe="须为教育行政部门")
        operations.transfer_case(current_user, case, _chosen_unit(f, scope), f.reason.data)

    return _case_action(number, "transfer", run, "已转办。")


@bp.post("/cases/<number>/refer")
@case_roles
def case_refer(number: str):
    return _case_action(number, "refer_up",
                        lambda case, f: operations.refer_case(current_user, case, f.note.data), "已上报上级。")


@bp.post("/cases/<number>/verify")
@case_roles
def case_verify(number: str):
    def run(case, f):
        scope = queries.children_scope(case.responsible_unit)
        units = [queries.resolve_unit(code, scope) for code in dict.fromkeys(f.units.data or [])]
        if (f.unit_text.data or "").strip():
            units.append(queries.resolve_unit(f.unit_text.data, scope))
        operations.issue_verification(current_user, case, list(dict.fromkeys(units)), f.content.data)

    return _case_action(number, "issue_verification", run, "核查单已下发。")


@bp.post("/cases/<number>/supervise")
@case_roles
def case_supervise(number: str):
    def run(case, f):
        unit = _chosen_unit(f, queries.children_scope(case.responsible_unit))
        operations.issue_supervision(current_user, case, unit, f.opinion.data, f.content.data)

    return _case_action(number, "issue_supervision", run, "督办单已下发。")


def _match(case: Case, f: forms.RepeatForm) -> Case:
    """The chosen case among the recorded matches of ``case`` (anything else is refused by the operation)."""
    chosen = next((m.case for m in repeats.matches_of(case) if m.case.number == f.other.data), None)
    if chosen is None:
        raise InvalidInput("请从系统提示的可能重复的投诉中选择。", field="other")
    return chosen


@bp.post("/cases/<number>/merge")
@case_roles
def case_merge(number: str):
    """并单: the repeat complaint is handled within the chosen earlier case."""
    return _case_action(number, "merge", lambda case, f: merging.merge_case(current_user, case, _match(case, f),
                                                                           f.note.data), "已并单。")


@bp.post("/cases/<number>/unmerge")
@case_roles
def case_unmerge(number: str):
    return _case_action(number, "unmerge", lambda case, f: merging.unmerge_case(current_user, case, f.note.data),
                        "已撤销并单，该投诉恢复单独办理。")


@bp.post("/cases/<number>/link")
@case_roles
def case_link(number: str):
    """关联: recorded as a repeat of the chosen case, both still handled."""
    return _case_action(number, "link_related",
                        lambda case, f: merging.link_cases(current_user, case, _match(case, f), f.note.data),
                        "已关联。")


@bp.post("/cases/<number>/close")
@case_roles
def case_close(number: str):
    return _case_action(number, "close",
                        lambda case, f: operations.close_case(current_user, case, f.reply.data),
                        "已办结，并答复投诉人。")


@bp.post("/cases/<number>/hold")
@case_roles
def case_hold(number: str):
    """Put the case under legal hold (法律保留: never anonymised) or release it."""
    def run(case, f):
        retention.set_hold(case, f.hold.data == "1", current_user, f.reason.data)

    return _case_action(number, "legal_hold", run, "已更新法律保留状态。")


def _upload(case: Case, order: Order | None, page: Callable, next_url: str):
    """Store one uploaded file on the case (or one of its orders)."""
    form = forms.AttachmentForm(prefix="attach")
    if form.validate_on_submit():
        try:
            with unit_of_work():
                upload = form.file.data
                attachments.store(case, upload.read(), upload.filename or "", order=order, user=current_user)
        except InvalidInput as exc:
            form.add_error(exc.field, exc.message)
            return page(form), 400
        flash("附件已上传。", "success")
        return redirect(next_url)
    return page(form), 400


@bp.post("/cases/<number>/attachments")
@case_roles
def case_attach(number: str):
    case = access.get_case(current_user, number)
    permissions.check(current_user, "attach", case)
    return _upload(case, None, lambda f: _case_page(case, f, "attach"), f"/cases/{case.number}")


@bp.get("/attachments/<public_id>")
@case_roles
def attachment(public_id: str):
    """Download an attachment of a case the user may see; never rendered inline."""
    att = queries.get_attachment(current_user, public_id)
    resp = send_file(io.BytesIO(attachments.read(att)), mimetype=att.content_type, as_attachment=True,
                     download_name=attachments.name_for(att.original_name, att.content_type), max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --- the order page ---------------------------------------------------------------------------

def _order_forms(order: Order, actions: set[str]) -> dict[str, forms.FlaskForm]:
    """Fresh forms for the actions the user may take on the order now."""
    prefill: dict[str, dict] = {"sign": {"acting_person": current_user.name, "acting_phone": current_user.phone or ""}}
    child = order.active_child
    if "report" in actions and child is not None and child.state is OrderState.REPORTED:
        prefill["report"] = {"text": child.findings if order.kind is OrderKind.VERIFICATION else child.handling_result,
                             "verdict": child.verdict.value if child.verdict else None}
    return _blank_forms(ORDER_FORMS, actions, order.version_id, prefill)


def _order_page(order: Order, override: forms.FlaskForm | None = None, name: str | None = None,
                revealed_text: bool = False) -> str:
    actions = permissions.allowed_actions(current_user, order)
    out = _order_forms(order, actions)
    material = citizen_actions.material(order.case)  # shown, and among the texts that may be masked
    if override is not None and name:
        out[name] = override
    if "report" in out:
        out["report"].for_kind(order.kind)
    if "relay" in out and not out["relay"].unit.choices:
        out["relay"].unit.choices = _unit_choices(queries.child_choices(order.case, order.receiving_unit),
                                                  queries.suggested_children(order.case, order.receiving_unit))
    if "review_return" in out and not out["review_return"].unit.choices:
        out["review_return"].unit.choices = _unit_choices(
            [u for u in queries.child_choices(order.case, order.issuing_unit) if u.id != order.receiving_unit_id],
            queries.suggested_children(order.case, order.issuing_unit))
    parent, children = queries.order_neighbours(current_user, order)
    return render_template(
        "staff/order.html", order=order, case=order.case, actions=actions, forms=out, parent=parent,
        failed=out.get(name),
        children=children, pending=permissions.pending_extension(order),
        pending_pause=permissions.pending_pause(order), running_pause=permissions.running_pause(order),
        attachments=[a for a in queries.visible_attachments(current_user, order.case) if a.order_id == order.id],
        verdicts=Verdict, contacts="see_contacts" in actions, revealed_text=revealed_text,
        material=material,
        texts_masked=_any_masked(order.content, order.handling_opinion, order.findings, order.handling_result,
                                 order.return_reason, order.sent_back_reason, *(e.reason for e in order.extensions),
                                 *(e.decision_note for e in order.extensions),
                                 *(t for p in order.pauses for t in (p.detail, p.decision_note)),
                                 order.return_decision,
                                 *(t for c in children for t in (c.findings, c.handling_result, c.return_reason)),
                                 *(e.note for e in material)),
    )


@bp.post("/orders/<number>/reveal")
@case_roles
def order_reveal(number: str):
    """Show the order's free texts in full; the look is recorded in the audit log (as for the case page)."""
    order = access.get_order(current_user, number)
    form = forms.RevealForm()
    if not form.validate_on_submit() or (form.person.data, form.field.data) != ("text", "all"):
        abort(400)
    with unit_of_work():
        operations.reveal(current_user, order.case, "text", "all")
    resp = make_response(_order_page(order, revealed_text=True))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/orders/<number>")
@case_roles
def order_detail(number: str):
    return _order_page(access.get_order(current_user, number))


def _order_action(number: str, action: str, run: Callable[[Order, forms.ActionForm], object], done: str):
    """Run one order action posted from the order page."""
    order = access.get_order(current_user, number)
    form_cls, prefix = ORDER_FORMS[action]
    form = form_cls(prefix=prefix)
    if action == "report":
        form.for_kind(order.kind)
    if _refused_now(current_user, action, order):
        form.form_errors.append(f"该单当前状态为“{order.state.label}”，不能执行该操作（可能已由他人办理）。")
        return _order_page(order, form, action), 409
    return _action_form(form, order, lambda: run(order, form), done, lambda f: _order_page(order, f, action),
                f"/orders/{order.number}")


@bp.post("/orders/<number>/sign")
@case_roles
def order_sign(number: str):
    return _order_action(number, "sign",
                         lambda o, f: operations.sign_order(current_user, o, f.acting_person.data,
                                                            f.acting_phone.data), "已签收。")


@bp.post("/orders/<number>/return")
@case_roles
def order_return(number: str):
    return _order_action(number, "return",
                         lambda o, f: operations.return_order(current_user, o, f.reason.data),
                         "退回申请已提交，等待下发单位审核。")


def _two_buttons(form, yes: str, no: str, what: str) -> bool:
    """Which of a decision form's two buttons was pressed; neither (or both) is refused with ``what``."""
    if bool(getattr(form, yes).data) == bool(getattr(form, no).data):
        raise InvalidInput(what)
    return bool(getattr(form, yes).data)


@bp.post("/orders/<number>/return/review")
@case_roles
def order_return_review(number: str):
    def run(order, f):
        if _two_buttons(f, "confirm", "refuse", "请点击“同意退回”或“不同意退回”作出决定。"):
            typed = (f.unit_text.data or "").strip() or f.unit.data
            unit = _chosen_unit(f, queries.children_scope(order.issuing_unit)) if typed else None
            operations.confirm_return(current_user, order, f.note.data, unit)
        else:
            operations.refuse_return(current_user, order, f.note.data)

    confirm = "review-confirm" in request.form
    return _order_action(number, "review_return", run, "已同意退回。" if confirm else "已不同意退回，该单退回承办单位继续办理。")


@bp.post("/orders/<number>/return/refer")
@case_roles
def order_return_refer(number: str):
    return _order_action(number, "refer_return",
                         lambda o, f: operations.refer_return(current_user, o, f.note.data), "已提请上级裁定。")


@bp.post("/orders/<number>/pause")
@case_roles
def order_pause(number: str):
    return _order_action(number, "request_pause",
                         lambda o, f: operations.request_pause(current_user, o, _enum(PauseReason, f.reason.data),
                                                               f.detail.data), "中止计时申请已提交。")


def _decision(number: str, action: str, prefix: str, pending, decide, what: str):
    """The issuer approves or refuses a pending request of the order (an extension, a pause) with two buttons."""
    def run(order, f):
        approve = _two_buttons(f, "approve", "refuse", f"请点击“同意{what}”或“不同意”作出决定。")
        asked = pending(order)
        if asked is None:
            raise ConcurrentUpdate(f"该{what}申请已处理。")
        decide(current_user, asked, approve, f.note.data)

    approve = f"{prefix}-approve" in request.form
    return _order_action(number, action, run, f"已同意{what}。" if approve else f"已不同意{what}。")


@bp.post("/orders/<number>/pause/decide")
@case_roles
def order_pause_decide(number: str):
    return _decision(number, "decide_pause", "decidepause", permissions.pending_pause, operations.decide_pause,
                     "中止计时")


@bp.post("/orders/<number>/resume")
@case_roles
def order_resume(number: str):
    return _order_action(number, "resume", lambda o, f: operations.resume_order(current_user, o), "已恢复计时。")


@bp.post("/orders/<number>/relay")
@case_roles
def order_relay(number: str):
    def run(order, f):
        unit = _chosen_unit(f, queries.children_scope(order.receiving_unit))
        operations.relay_order(current_user, order, unit, f.note.data, f.due_on.data)

    return _order_action(number, "relay", run, "已转下级办理。")


@bp.post("/orders/<number>/report")
@case_roles
def order_report(number: str):
    def run(order, f):
        operations.report_order(current_user, order, text=f.text.data, verdict=_enum(Verdict, f.verdict.data))

    return _order_action(number, "report", run, "已报送。")


@bp.post("/orders/<number>/accept")
@case_roles
def order_accept(number: str):
    return _order_action(number, "accept",
                         lambda o, f: operations.accept_report(current_user, o), "已审核通过。")


@bp.post("/orders/<number>/send-back")
@case_roles
def order_send_back(number: str):
    return _order_action(number, "send_back",
                         lambda o, f: operations.send_back(current_user, o, f.reason.data), "已退回重办。")


@bp.post("/orders/<number>/extension")
@case_roles
def order_extension(number: str):
    return _order_action(number, "request_extension",
                         lambda o, f: operations.request_extension(current_user, o, f.new_due_on.data,
                                                                   f.reason.data), "延期申请已提交。")


@bp.post("/orders/<number>/extension/decide")
@case_roles
def order_extension_decide(number: str):
    return _decision(number, "decide_extension", "decide", permissions.pending_extension,
                     operations.decide_extension, "延期")


@bp.post("/orders/<number>/attachments")
@case_roles
def order_attach(number: str):
    order = access.get_order(current_user, number)
    permissions.check(current_user, "attach", order)
    return _upload(order.case, order, lambda f: _order_page(order, f, "attach"), f"/orders/{order.number}")

