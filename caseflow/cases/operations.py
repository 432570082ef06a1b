"""Everything that changes a case or an order.

Each operation: ask ``permissions.check`` whether the actor may do it now (the
same rule that decides the page's buttons), make the move through the state
machine, change the objects, write the event, flush.  The caller commits once (through
``caseflow.extensions.unit_of_work``); the commit hands the outbox to the queue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from caseflow.cases import followups, permissions, receipts, repeats, webhooks
from caseflow.cases.numbering import hash_access_code, new_access_code, next_number
from caseflow.cases.routing import responsible_code
from caseflow.cases.sms import wants_sms
from caseflow.cases.workflow import case_move, order_move
from caseflow.deadlines import policy, status
from caseflow.deadlines.settings import current_rules, load_calendar
from caseflow.deadlines.status import on_time
from caseflow.errors import ConcurrentUpdate, IllegalTransition, InvalidInput
from caseflow.extensions import db
from caseflow.jobs import add_outbox
from caseflow.models import (
    Case,
    CaseEvent,
    CaseSource,
    CaseState,
    Category,
    ExtensionRequest,
    ExtensionState,
    FollowUp,
    NoticePreference,
    Order,
    OrderKind,
    OrderPause,
    OrderState,
    PauseReason,
    Person,
    Rating,
    Sex,
    Unit,
    UnitKind,
    User,
    Verdict,
)
from caseflow.security import crypto
from caseflow.security.audit import record_access
from caseflow.security.text import strip_bidi
from caseflow.timeutil import format_date_cn, local_date, local_today, utcnow
from caseflow.workdays import Due

# --- input records ------------------------------------------------------------

@dataclass
class PersonData:
    """A person as entered on the form, already validated and normalised."""

    name: str
    sex: Sex | None = None
    age: int | None = None
    ethnicity: str | None = None
    id_number: str | None = None
    phone: str | None = None
    registry_no: str | None = None
    birth_date: date | None = None

    def to_model(self) -> Person:
        return Person(
            name=self.name, sex=self.sex, age=self.age, ethnicity=self.ethnicity or None,
            birth_date=self.birth_date, id_number=self.id_number or None,
            id_number_hash=crypto.lookup_hash(self.id_number), phone=self.phone or None,
            phone_hash=crypto.lookup_hash(self.phone), registry_no=self.registry_no or None,
            registry_no_hash=crypto.lookup_hash(self.registry_no),
        )


@dataclass
class ComplaintData:
    """A complaint ready to be stored."""

    complainant: PersonData
    student: PersonData
    category: Category
    description: str
    school_codes: list[str] = field(default_factory=list)
    notice: NoticePreference = NoticePreference.SMS  # texts about the case, or none (intake decides)


# --- helpers --------------------------------------------------------------------

def _event(case: Case, action: str, actor: User | None, *, from_state=None, to_state=None,
           order: Order | None = None, note: str | None = None, public: bool = False) -> CaseEvent:
    event = CaseEvent(
        case=case, order=order, actor=actor, actor_unit_id=actor.unit_id if actor else None,
        action=action, from_state=str(from_state) if from_state else None,
        to_state=str(to_state) if to_state else None, note=note, public=public,
    )
    db.session.add(event)
    if to_state is not None:  # a state move: the integrations of the units concerned hear of it
        webhooks.announce(event)
    return event


def _apply(obj, changes: dict) -> None:
    for key, value in changes.items():
        setattr(obj, key, value)


def _move_case(case: Case, action: str, actor: User | None, note: str | None = None,
               order: Order | None = None, value: str | None = None, **changes) -> CaseEvent:
    """Check and make a case move; ``changes`` are the columns tied to the new state (set together)."""
    move = case_move(action, case.state)
    before = case.state
    with db.session.no_autoflush:
        case.state = move.target
        _apply(case, changes)
        event = _event(case, action, actor, from_state=before, to_state=move.target, order=order, note=note,
                       public=move.public is not None)
        event.value = value
    return event


def _move_order(order: Order, action: str, actor: User | None, note: str | None = None, **changes) -> None:
    """Check and make an order move, with the columns tied to the new state."""
    move = order_move(action, order.state)
    before = order.state
    with db.session.no_autoflush:
        order.state = move.target
        _apply(order, changes)
        _event(order.case, f"order_{action}", actor, from_state=before, to_state=move.target, order=order,
               note=note)


def _text_complainant(case: Case, template: str) -> None:
    """Queue a text message to the complainant, only when they want texts and gave a mobile number (a
    landline or no phone at all, as for a data-monitoring case, gets none)."""
    if wants_sms(case):
        add_outbox("sms", case_id=case.id, template=template)


def _text(value: str | None, what: str, *, limit: int = 10000) -> str:
    value = strip_bidi(value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{what}", field=what)
    if len(value) > limit:
        raise InvalidInput(f"{what}不能超过{limit}字", field=what)
    return value


def flush() -> None:
    """Flush, turning a lost optimistic-lock race into ``ConcurrentUpdate``."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate() from exc


def claim_version(record: Case | Order, seen: int) -> None:
    """Make an action on ``record`` count as a change of it, made against version ``seen``.

    Most actions update the record, and its version check refuses the second of two officials acting
    at once.  One that only adds rows (an extension request, an attachment) bumps the version here,
    conditionally, so the second gets ``ConcurrentUpdate`` too.
    """
    flush()
    if record.version_id != seen:  # the action updated the record under the version check
        return
    model = type(record)
    result = cast("sa.CursorResult[Any]", db.session.execute(
        sa.update(model).where(model.id == record.id, model.version_id == seen)
        .values(version_id=seen + 1).execution_options(synchronize_session=False)))
    if not result.rowcount:
        raise ConcurrentUpdate()
    set_committed_value(record, "version_id", seen + 1)


def units_by_code(codes: list[str]) -> list[Unit]:
    found = {u.code: u for u in db.session.scalars(sa.select(Unit).where(Unit.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput(f"找不到学校：{'、'.join(missing)}", field="schools")
    return [found[c] for c in codes]


def deployment_root() -> str | None:
    from flask import current_app

    return current_app.config.get("DEPLOYMENT_PROVINCE")


def route(schools: list[Unit]) -> tuple[Unit, str, bool]:
    """The responsible unit for these schools (DOMAIN §3), the reason, and whether it is referred."""
    root = deployment_root()
    routing = responsible_code(schools, root)
    if routing.referred:
        # Outside the provincial deployment (a school in another province, alone or with one of ours):
        # the deployment's province takes it and refers it to the Ministry.
        unit = db.session.scalars(sa.select(Unit).where(Unit.code == (root or routing.unit_code))).one()
        return unit, routing.reason, True
    unit = db.session.scalars(sa.select(Unit).where(Unit.code == routing.unit_code)).one()
    return unit, routing.reason, False


# --- complaints -------------------------------------------------------------------

def find_by_token(token: str | None) -> Case | None:
    if not token:
        return None
    return db.session.scalars(sa.select(Case).where(Case.submission_token == token)).first()


def _arrival(source: CaseSource, actor: User | None) -> str:
    """How the complaint came in, for its first timeline line: 网上提交, 电话登记, or relayed by a platform."""
    if actor is not None:
        return source.label + "登记"
    return "网上提交" if source is CaseSource.WEB else f"{source.label}（由外部平台转入）"


def submit_complaint(data: ComplaintData, *, source: CaseSource = CaseSource.WEB,
                     actor: User | None = None, token: str | None = None) -> tuple[Case, str]:
    """Store a complaint, route it, and return it with its access code (shown once)."""
    if not data.school_codes:
        raise InvalidInput("请选择投诉涉及的学校", field="schools")
    if len(set(data.school_codes)) > 2:
        raise InvalidInput("一次投诉最多涉及两所学校", field="schools")
    schools = units_by_code(list(dict.fromkeys(data.school_codes)))
    if any(s.kind is not UnitKind.SCHOOL for s in schools):
        raise InvalidInput("请选择学校，而不是教育行政部门", field="schools")
    if actor is not None:
        permissions.check(actor, "register_complaint")
    unit, reason, referred = route(schools)
    now = utcnow()
    number = next_number("case", local_date(now).year)
    code = new_access_code()
    due = policy.registered_action_due(current_rules(), local_date(now))
    case = Case(
        number=number, access_code_hash=hash_access_code(number, code), submission_token=token,
        source=source, category=data.category, description=data.description,
        complainant=data.complainant.to_model(), student=data.student.to_model(),
        responsible_unit=unit, routing_note=reason, created_by_id=actor.id if actor else None,
        received_at=now, action_due_on=due.on, action_due_provisional=due.provisional, notice=data.notice,
    )
    case.schools = schools
    db.session.add(case)
    action = "submit" if actor is None else "register"
    case.state = case_move(action, None).target
    if case.state is CaseState.REGISTERED:
        case.registered_at = now
    _event(case, action, actor, to_state=case.state, public=True,
           note=f"{_arrival(source, actor)}；责任单位：{unit.name}。{reason}")
    if referred:
        _event(case, "routing_referral", None, note="跨省投诉：需由本省上报教育部协调处理。")
    flush()
    _record_repeats(case)
    receipts.remember(case, token, code)
    _text_complainant(case, "registered")
    return case, code


def _record_repeats(case: Case) -> None:
    """Keep the earlier cases about the same student as possible repeats, noted on the new case's timeline."""
    links = repeats.record_matches(case)
    if links:
        _event(case, "repeat_found", None, note="可能的重复投诉：" + "；".join(
            f"{link.other.number}（{link.reason.label}）" for link in links))
        flush()


def accept_case(actor: User, case: Case) -> None:
    """受理: the responsible unit takes the web complaint on."""
    permissions.check(actor, "accept", case)
    _move_case(case, "accept", actor, registered_at=utcnow())
    flush()


def reject_case(actor: User, case: Case, reason: str) -> None:
    """不予受理: not a registry matter; the reason (and where to go) is shown to the citizen."""
    permissions.check(actor, "reject", case)
    reason = _text(reason, "不予受理的理由及办理渠道", limit=2000)
    _move_case(case, "reject", actor, note=reason, rejection_reason=reason, action_due_on=None)
    _cancel_open_orders(case, actor)
    flush()
    _text_complainant(case, "rejected")


def transfer_case(actor: User, case: Case, target: Unit, reason: str) -> None:
    """转办: move the case one level up or down (DOMAIN §3, 逐级转办), with the reason recorded and the
    action deadline restarted for the new unit; the Ministry is reached only through 上报."""
    permissions.check(actor, "transfer", case)
    reason = _text(reason, "转办理由", limit=2000)
    if target.kind is UnitKind.SCHOOL:
        raise InvalidInput("只能转给教育行政部门，不能转给学校", field="unit")
    if target.id == case.responsible_unit_id:
        raise InvalidInput("该投诉已由此单位负责", field="unit")
    old = case.responsible_unit
    if target.kind is UnitKind.MINISTRY:
        raise InvalidInput("报教育部协调的投诉请使用“上报”，不能转办", field="unit")
    if target.id != old.parent_id and target.parent_id != old.id:
        raise InvalidInput(f"转办须逐级进行：只能转给{old.name}的上一级或直属下级教育行政部门", field="unit")
    due = policy.registered_action_due(current_rules(), local_today())  # the new unit's clock starts now
    case.responsible_unit = target  # before the move's event: the unit it goes to hears of it (webhooks)
    case.routing_note = f"由{old.name}转办：{reason}"
    _move_case(case, "transfer", actor, note=f"由{old.name}转至{target.name}：{reason}",
               action_due_on=due.on, action_due_provisional=due.provisional)
    flush()


def refer_case(actor: User, case: Case, reason: str) -> None:
    """上报: the case lies outside the deployment (another province); refer it upward."""
    permissions.check(actor, "refer_up", case)
    reason = _text(reason, "上报说明", limit=2000)
    _move_case(case, "refer_up", actor, note=reason, reply=reason, action_due_on=None)
    flush()
    _text_complainant(case, "referred")


def _cancel_open_orders(case: Case, actor: User | None) -> None:
    for order in case.orders:
        if order.is_open:
            _move_order(order, "cancel", actor)


# --- orders ------------------------------------------------------------------------

def _new_order(case: Case, kind: OrderKind, issuer: Unit, receiver: Unit, actor: User, content: str,
               *, parent: Order | None = None, opinion: str | None = None,
               due_on: date | None = None) -> Order:
    today = local_today()
    if receiver.parent_id != issuer.id:
        raise InvalidInput(f"单据须逐级下发：{receiver.name}不是{issuer.name}的直属下级单位。", field="unit")
    rules = current_rules()
    sign = policy.sign_by(rules, today)
    parent_due = Due(parent.due_on, parent.due_provisional) if parent is not None else None
    due = Due(due_on, False) if due_on is not None else policy.complete_by(rules, kind, today, parent_due)
    deadlines = policy.OrderDeadlines(sign, due)
    due_date = due.on
    if status.is_past(due_date, today):
        raise InvalidInput("完成时限不能早于今天", field="due_on")
    order = Order(
        number=next_number(kind.value, today.year), kind=kind, case=case, round=case.round, parent=parent,
        issuing_unit=issuer, receiving_unit=receiver, issued_by=actor, state=order_move("issue", None).target,
        content=content, handling_opinion=opinion, responsible_person=actor.name,
        responsible_phone=actor.phone or issuer.phone, sent_at=utcnow(),
        sign_due_on=deadlines.sign_due_on, due_on=due_date, due_provisional=deadlines.provisional,
    )
    db.session.add(order)
    _event(case, "order_issue", actor, order=order, to_state=order.state,
           note=f"{kind.label}下发至{receiver.name}，完成时限{format_date_cn(due_date)}")
    return order


def issue_verification(actor: User, case: Case, receivers: list[Unit], content: str | None = None) -> list[Order]:
    """Send verification orders (核查单) to one or more units below the responsible unit."""
    permissions.check(actor, "issue_verification", case)
    if not receivers:
        raise InvalidInput("请选择接收核查单的单位", field="unit")
    content = _text(content or case.complaint_summary or case.description, "所投诉事项")
    case.complaint_summary = content
    _move_case(case, "issue_verification", actor)
    orders = [_new_order(case, OrderKind.VERIFICATION, case.responsible_unit, unit, actor, content)
              for unit in receivers]
    case.action_due_on = None
    flush()
    _render_later(orders)
    return orders


def issue_supervision(actor: User, case: Case, receiver: Unit, opinion: str, content: str | None = None) -> Order:
    """Decide the handling opinion (办理意见) and send the supervision order (督办单) down."""
    permissions.check(actor, "issue_supervision", case)
    opinion = _text(opinion, "办理意见")
    content = _text(content or case.complaint_summary or case.description, "投诉事项")
    _move_case(case, "issue_supervision", actor)
    order = _new_order(case, OrderKind.SUPERVISION, case.responsible_unit, receiver, actor, content,
                       opinion=opinion)
    case.action_due_on = None
    flush()
    _render_later([order])
    return order


def sign_order(actor: User, order: Order, acting_person: str | None = None,
               acting_phone: str | None = None) -> None:
    """签收: the receiving unit acknowledges the order; on-time signing is frozen now."""
    permissions.check(actor, "sign", order)
    now = utcnow()
    _move_order(order, "sign", actor, signed_at=now, signed_by_id=actor.id)
    order.acting_person = (acting_person or actor.name).strip()[:60]
    order.acting_phone = (acting_phone or actor.phone or order.receiving_unit.phone or "").strip()[:40] or None
    order.signed_on_time = on_time(order.sign_due_on, local_date(now))
    order.sign_workdays = policy.working_days_taken(load_calendar(), order.sent_at, now)
    flush()
    _render_later([order])


def return_order(actor: User, order: Order, reason: str) -> None:
    """退回: the order was sent to the wrong unit. A request: the issuing unit reviews it (退单审核)
    within ``return_review_days``; until then nobody's order deadline runs, the review's does."""
    permissions.check(actor, "return", order)
    reason = _text(reason, "退回理由", limit=2000)
    due = policy.return_review_due(current_rules(), local_today())
    _move_order(order, "return", actor, note=reason, return_reason=reason, return_decision=None,
                return_reviewer_id=order.issuing_unit_id, review_due_on=due.on)
    flush()


def confirm_return(actor: User, order: Order, note: str | None = None,
                   redispatch_to: Unit | None = None) -> Order | None:
    """同意退回: the return takes effect; the order may be sent at once to the right unit (重新派单),
    a new order of the same kind from the same issuing unit with a fresh period."""
    permissions.check(actor, "review_return", order)
    note = strip_bidi(note or "").strip()[:2000] or None
    if redispatch_to is not None and redispatch_to.id == order.receiving_unit_id:
        raise InvalidInput(f"{redispatch_to.name}已申请退回该单，请选择其他单位重新派单", field="unit")
    parent = order.parent
    if parent is not None and parent.state is OrderState.PAUSED:
        resume_order(actor, parent)  # the hop above waited on this one: its clock restarts (still relayed)
    _move_order(order, "confirm_return", actor, note=note, returned_at=utcnow(), return_decision=note,
                review_due_on=None)
    if parent is not None:
        _move_order(parent, "child_returned", actor, note=f"{order.receiving_unit.name}退回：{order.return_reason}")
    new = None
    if redispatch_to is not None:
        if parent is not None:
            _move_order(parent, "relay", actor, note=f"转至{redispatch_to.name}")
        new = _new_order(order.case, order.kind, order.issuing_unit, redispatch_to, actor, order.content,
                         parent=parent, opinion=order.handling_opinion)
    flush()
    if new is not None:
        _render_later([new])
    return new


def refuse_return(actor: User, order: Order, reason: str) -> None:
    """不同意退回: the order goes back to the receiver in the state it was in, its deadlines unchanged
    (the receiver's clock was not stopped by a return it should not have made)."""
    permissions.check(actor, "review_return", order)
    reason = _text(reason, "不同意退回的理由", limit=2000)
    action = "refuse_return" if order.signed_at is not None else "refuse_return_unsigned"
    _move_order(order, action, actor, note=reason, return_decision=reason, review_due_on=None)
    flush()


def refer_return(actor: User, order: Order, note: str) -> None:
    """提请上级裁定: responsibility is disputed; the unit above the issuer decides (DOMAIN: disputes are
    decided by the level above), with a fresh review deadline."""
    permissions.check(actor, "refer_return", order)
    note = _text(note, "提请上级裁定的说明", limit=2000)
    upper = order.issuing_unit.parent
    assert upper is not None  # the rule's state half refuses an issuer without a parent
    due = policy.return_review_due(current_rules(), local_today())
    _move_order(order, "refer_return", actor, note=f"提请{upper.name}裁定：{note}", return_reviewer_id=upper.id,
                review_due_on=due.on)
    flush()


def relay_order(actor: User, order: Order, receiver: Unit, note: str | None = None,
                due_on: date | None = None) -> Order:
    """转办: pass the order one level down; verification keeps the parent's deadline."""
    permissions.check(actor, "relay", order)
    _move_order(order, "relay", actor, note=f"转至{receiver.name}")
    if due_on is not None and due_on > order.due_on:
        raise InvalidInput("下级的完成时限不能晚于本单的完成时限", field="due_on")
    content = order.content if not note else f"{order.content}\n\n【{order.receiving_unit.name}转办说明】{note}"
    child = _new_order(order.case, order.kind, order.receiving_unit, receiver, actor, content,
                       parent=order, opinion=order.handling_opinion, due_on=due_on)
    flush()
    _render_later([child])
    return child


def report_order(actor: User, order: Order, *, text: str | None = None, verdict: Verdict | None = None) -> None:
    """报送: the receiving unit sends its findings (核查单) or handling result (督办单) up."""
    permissions.check(actor, "report", order)
    child = order.active_child if order.state is OrderState.RELAYED else None
    what = "经核实的情况" if order.kind is OrderKind.VERIFICATION else "办理情况"
    text = _text(text or (child.findings if child and order.kind is OrderKind.VERIFICATION else
                          child.handling_result if child else None), what)
    if order.kind is OrderKind.VERIFICATION:
        verdict = verdict or (child.verdict if child else None)
        if verdict is None:
            raise InvalidInput("请选择核查结论", field="verdict")
        order.findings, order.verdict = text, verdict
    else:
        order.handling_result = text
    now = utcnow()
    _move_order(order, "report", actor, note=(verdict.label if verdict else None), reported_at=now,
                reported_by_id=actor.id)
    if order.completed_on_time is None:
        order.completed_on_time = on_time(order.due_on, local_date(now))
    order.complete_workdays = max(0, policy.working_days_taken(load_calendar(), order.sent_at, now)
                                  - (order.paused_workdays or 0))
    if child is not None:
        _accept(actor, child)
    flush()
    _render_later([order])


def _accept(actor: User, order: Order) -> None:
    _move_order(order, "accept", actor, accepted_at=utcnow())


def accept_report(actor: User, order: Order) -> None:
    """审核通过: the issuer accepts the findings or result; the case moves on when all are in."""
    permissions.check(actor, "accept", order)
    _accept(actor, order)
    if order.parent is None:
        _advance_case(actor, order.case)
    flush()


def send_back(actor: User, order: Order, reason: str) -> None:
    """退回重办: the issuer is not satisfied with the report; the receiver works it again."""
    permissions.check(actor, "send_back", order)
    reason = _text(reason, "退回重办的理由", limit=2000)
    _move_order(order, "send_back", actor, note=reason, sent_back_reason=reason)
    due = policy.after_send_back(current_rules(), order.kind, Due(order.due_on, order.due_provisional),
                                 local_today())
    order.due_on, order.due_provisional = due.on, due.provisional
    order.completed_on_time = order.complete_workdays = None
    flush()


def _advance_case(actor: User, case: Case) -> None:
    """Move the case on once every root order of the current stage has been accepted."""
    kind = OrderKind.VERIFICATION if case.state is CaseState.VERIFYING else OrderKind.SUPERVISION
    if case.state not in (CaseState.VERIFYING, CaseState.HANDLING):
        return
    roots = [o for o in case.orders if o.parent_id is None and o.kind is kind and o.round == case.round]
    live = [o for o in roots if o.state not in (OrderState.RETURNED, OrderState.CANCELLED)]
    if live and all(o.state is OrderState.ACCEPTED for o in live):
        if kind is OrderKind.VERIFICATION:
            _move_case(case, "findings_complete", actor)
            due = policy.decision_due(current_rules(), local_today())
            case.action_due_on, case.action_due_provisional = due.on, due.provisional
        else:
            _move_case(case, "results_complete", actor)
            case.action_due_on = None


def request_extension(actor: User, order: Order, new_due_on: date, reason: str) -> ExtensionRequest:
    """延期申请: ask the issuer for a later deadline."""
    permissions.check(actor, "request_extension", order)
    reason = _text(reason, "延期理由", limit=2000)
    if new_due_on <= order.due_on:
        raise InvalidInput("申请的完成时限应晚于当前完成时限", field="new_due_on")
    if not load_calendar().is_workday(new_due_on):
        raise InvalidInput("申请的完成时限应为工作日", field="new_due_on")
    rules = current_rules()
    latest = policy.latest_extension(rules, order.due_on)
    if new_due_on > latest:
        raise InvalidInput(f"延期最多{rules.days['max_extension_days']}个工作日，申请的完成时限不能晚于"
                           f"{format_date_cn(latest)}", field="new_due_on")
    ext = ExtensionRequest(order=order, requested_by_id=actor.id, reason=reason, requested_due_on=new_due_on,
                           previous_due_on=order.due_on, state=ExtensionState.PENDING)
    db.session.add(ext)
    _event(order.case, "extension_request", actor, order=order,
           note=f"申请延期至{format_date_cn(new_due_on)}：{reason}")
    flush()
    return ext


def _decide_request(actor: User, asked: ExtensionRequest | OrderPause, action: str, what: str, approve: bool,
                    note: str | None, now) -> str | None:
    """The issuer's decision on a pending request of the order (an extension, a pause): checked and recorded.

    Returns the decision note as kept (cleaned, at most 2000 characters).
    """
    permissions.check(actor, action, asked.order)
    if asked.state is not ExtensionState.PENDING:
        raise IllegalTransition(f"该{what}申请已处理。")
    kept = strip_bidi(note or "").strip()[:2000] or None
    asked.state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
    asked.decided_by_id, asked.decided_at, asked.decision_note = actor.id, now, kept
    return kept


def decide_extension(actor: User, ext: ExtensionRequest, approve: bool, note: str | None = None) -> None:
    """The issuer approves (the deadline moves) or refuses an extension request."""
    order = ext.order
    _decide_request(actor, ext, "decide_extension", "延期", approve, note, utcnow())
    if approve:
        order.due_on = ext.requested_due_on
    _event(order.case, "extension_approved" if approve else "extension_refused", actor, order=order,
           note=f"{'同意' if approve else '不同意'}延期至{format_date_cn(ext.requested_due_on)}"
                + (f"：{ext.decision_note}" if ext.decision_note else ""))
    flush()
    if approve:
        _render_later([order])


def request_pause(actor: User, order: Order, reason: PauseReason | None, detail: str | None = None) -> OrderPause:
    """中止计时申请: the receiver asks the issuer to stop the order's clock, for one of the listed reasons."""
    permissions.check(actor, "request_pause", order)
    if reason is None:
        raise InvalidInput("请选择中止计时的原因", field="reason")
    detail = strip_bidi(detail or "").strip() or None
    if reason is PauseReason.OTHER and detail is None:
        raise InvalidInput("原因为“其他”时，请说明中止计时的原因", field="detail")
    if detail is not None and len(detail) > 2000:
        raise InvalidInput("说明不能超过2000字", field="detail")
    pause = OrderPause(order=order, requested_by_id=actor.id, reason=reason, detail=detail,
                       state=ExtensionState.PENDING)
    db.session.add(pause)
    _event(order.case, "pause_request", actor, order=order,
           note=f"申请中止计时：{reason.label}" + (f"：{detail}" if detail else ""))
    flush()
    return pause


def decide_pause(actor: User, pause: OrderPause, approve: bool, note: str | None = None) -> None:
    """The issuer approves (the clock stops now, until resumed or ``pause_max_days`` later) or refuses."""
    order = pause.order
    now = utcnow()
    note = _decide_request(actor, pause, "decide_pause", "中止计时", approve, note, now)
    if approve:
        pause.started_at = now
        pause.ends_by = policy.pause_ends_by(current_rules(), local_date(now))
        _move_order(order, "pause", actor,
                    note=f"同意中止计时（{pause.reason.label}），最迟于{format_date_cn(pause.ends_by)}自动恢复计时"
                         + (f"：{note}" if note else ""))
    else:
        _event(order.case, "pause_refused", actor, order=order,
               note="不同意中止计时" + (f"：{note}" if note else ""))
    flush()


def resume_order(actor: User | None, order: Order, *, today: date | None = None) -> int:
    """恢复计时: by either end of the order, or by the scan (``actor`` None) once the pause reached its
    maximum. The deadline moves by the paused working days (``policy.after_pause``); returns them."""
    if actor is not None:
        permissions.check(actor, "resume", order)
    pause = permissions.running_pause(order)
    if pause is None or pause.started_at is None or pause.ends_by is None:
        raise IllegalTransition("该单未中止计时。")
    now = utcnow()
    rules = current_rules()
    ended_on = min(today or local_date(now), pause.ends_by)  # a late scan never lengthens a pause
    days = policy.pause_workdays(rules.calendar, local_date(pause.started_at), ended_on)
    pause.ended_at, pause.ended_by_id, pause.workdays = now, actor.id if actor else None, days
    old = order.due_on
    due = policy.after_pause(rules, Due(order.due_on, order.due_provisional), days)
    why = "恢复计时" if actor is not None else "中止计时期满，自动恢复计时"
    action = "resume_relayed" if order.active_child is not None else "resume"
    _move_order(order, action, actor, note=f"{why}（中止{days}个工作日），完成时限由{format_date_cn(old)}顺延至"
                                              f"{format_date_cn(due.on)}")
    order.due_on, order.due_provisional = due.on, due.provisional
    order.paused_workdays = (order.paused_workdays or 0) + days
    flush()
    _render_later([order])
    return days


def close_case(actor: User, case: Case, reply: str) -> None:
    """办结: confirm the outcome and answer the complainant."""
    permissions.check(actor, "close", case)
    reply = _text(reply, "答复投诉人的办理结果")
    now = utcnow()
    event = _move_case(case, "close", actor, note=reply, reply=reply, closed_at=now, action_due_on=None)
    event.workdays = policy.working_days_taken(load_calendar(), case.received_at, now)
    _event(case, "informed", actor, note="已告知投诉人办理结果", public=False)
    task = followups.open_task(case, now)
    _event(case, "follow_up_open", actor, note=f"{case.responsible_unit.name}回访，时限"
           + format_date_cn(task.due_on) + (f"；{format_date_cn(task.rate_until)}前投诉人在线评价的，不再电话回访"
                                              if task.rate_until else ""))
    flush()
    _text_complainant(case, "closed")


def rate_case(case: Case, rating: Rating, comment: str | None = None) -> None:
    """The complainant rates the result on the tracking page; this ends the follow-up task (no call is made)."""
    comment = _rating_comment(case, rating, comment)
    ended = followups.rated_online(case, rating, utcnow())  # the task of this round, before 不满意 starts the next
    _rate(case, rating, comment, None)
    if ended:
        _event(case, "follow_up_online", None, note=ended)
    flush()


def _rating_comment(case: Case, rating: Rating, comment: str | None) -> str | None:
    """Whether the result may be rated now, and the comment (required with 不满意)."""
    if case.rating is not None and case.state is CaseState.CLOSED:
        raise IllegalTransition("您已评价过本次办理结果。")
    comment = (comment or "").strip()[:2000] or None
    if rating is Rating.UNSATISFIED and not comment:
        raise InvalidInput("请说明不满意的原因", field="comment")
    return comment


def _rate(case: Case, rating: Rating, comment: str | None, actor: User | None, how: str = "") -> None:
    """A rating of the result (online, or told on the follow-up call); 不满意 starts a new round in the same unit."""
    _move_case(case, "rate", actor, note=f"{how}{rating.label}" + (f"：{comment}" if comment else ""),
               value=rating.value, rating=rating, rating_comment=comment, rated_at=utcnow())
    if rating is Rating.UNSATISFIED:
        due = policy.registered_action_due(current_rules(), local_today())
        _move_case(case, "reopen", actor, note=comment, round=case.round + 1, closed_at=None, rating=None,
                   rated_at=None, action_due_on=due.on, action_due_provisional=due.provisional)


def record_call(actor: User, task: FollowUp, result: followups.CallResult) -> None:
    """回访: an officer of the responsible unit records a call; an answered call rates the result for the
    complainant, through the same path as an online rating (不满意 reopens the case)."""
    permissions.check(actor, "call", task)
    result = followups.check_call(result)
    case = task.case
    comment = _rating_comment(case, result.rating, result.note) if result.rating else None
    _event(case, "follow_up_call", actor, note=followups.record_call(task, actor, result, utcnow()))
    if result.rating is not None:
        _rate(case, result.rating, comment, actor, how="电话回访：")
    flush()


REVEALABLE = {("complainant", "id_number"), ("complainant", "phone"), ("student", "id_number"),
              ("student", "phone"), ("text", "all")}


def reveal(actor: User, case: Case, person: str, field_name: str) -> str:
    """Show one full ID number or phone, or the case's free texts unmasked ("text", "all"), recording who looked."""
    if (person, field_name) not in REVEALABLE:
        raise InvalidInput("未知字段")
    # Free text is the complainant's words and may hold their numbers: it is theirs to guard.
    permissions.check(actor, "reveal_student" if person == "student" else "reveal_complainant", case)
    record_access(actor, "reveal", "case", case.number, subject_id_number=case.student.id_number,
                  detail=f"{person}.{field_name}")
    if person == "text":
        return ""
    target: Person = getattr(case, person)
    return getattr(target, field_name) or ""


def _render_later(orders: list[Order]) -> None:
    """Ask for the order PDFs to be (re)rendered after commit."""
    for order in orders:
        add_outbox("render_order_pdf", order_id=order.id)
