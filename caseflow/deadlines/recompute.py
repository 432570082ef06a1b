"""Recompute open deadlines after an administrator edits the holiday calendar.

Every deadline that was computed provisionally (it rested on a weekends-only
guess), or whose window contains an edited day, is computed again by the same
policy the operations used, from the order's or case's history.  Flushes; the
caller commits.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from caseflow.deadlines import policy
from caseflow.deadlines.policy import DeadlineRules
from caseflow.deadlines.settings import current_rules, forget_calendar
from caseflow.extensions import db
from caseflow.models import Case, CaseEvent, ExtensionState, Order, OrderState, User
from caseflow.timeutil import format_date_cn, local_date
from caseflow.workdays import Due


def _last_event_on(case: Case, action: str, order: Order | None = None) -> date | None:
    """The Shanghai date of the latest ``action`` event on the case (or on one of its orders)."""
    times = [e.created_at for e in case.events
             if e.action == action and (order is None or e.order_id == order.id)]
    return local_date(max(times)) if times else None


def order_due_from_history(rules: DeadlineRules, order: Order) -> policy.OrderDeadlines:
    """An order's deadlines from its history, by the policy."""
    extended = [e.requested_due_on for e in order.extensions if e.state is ExtensionState.APPROVED]
    parent = order.parent
    return policy.order_due_dates(
        rules, order.kind, local_date(order.sent_at),
        parent_due=Due(parent.due_on, parent.due_provisional) if parent is not None else None,
        sent_back_on=_last_event_on(order.case, "order_send_back", order),
        extended_to=order.due_on if extended else None, paused_days=order.paused_workdays)


def action_due_from_history(rules: DeadlineRules, case: Case) -> Due | None:
    """The responsible unit's next deadline from the case's history, by the policy."""
    return policy.next_action_due(
        rules, case.state, received_on=local_date(case.received_at),
        reopened_on=_last_event_on(case, "reopen"), findings_on=_last_event_on(case, "findings_complete"))


def apply_order_due(rules: DeadlineRules, order: Order) -> tuple[date, date]:
    """Set an order's deadlines by the policy; returns the old (sign-by, due) dates."""
    before = (order.sign_due_on, order.due_on)
    new = order_due_from_history(rules, order)
    order.due_on = new.due.on
    if order.state is OrderState.SENT:  # once signed for, the sign-by date is history
        order.sign_due_on = new.sign_due_on
        order.due_provisional = new.provisional
    else:
        order.sign_due_on = min(order.sign_due_on, new.due.on)
        order.due_provisional = new.due.provisional
    return before


def recompute_deadlines(actor: User | None, changed_days: Iterable[date] = ()) -> int:
    """Recompute open deadlines after a calendar edit; one event per change; returns the count.

    Every provisional deadline is recomputed (it rested on a weekends-only guess),
    and so is any other whose working-day window contains one of ``changed_days``
    (an administrator correcting a year already entered).
    """
    forget_calendar()
    db.session.flush()
    rules = current_rules()
    days = sorted(set(changed_days))

    def affected(provisional: bool, start: date, due: date) -> bool:
        return provisional or any(start < d <= due for d in days)

    changed = 0
    order_filter: sa.ColumnElement[bool] = Order.due_provisional.is_(True)
    if days:
        order_filter = sa.or_(order_filter, Order.due_on >= days[0])
    orders = db.session.scalars(
        sa.select(Order).where(Order.state.in_(OrderState.OPEN), order_filter).order_by(Order.id)
    ).all()
    for order in orders:
        if not affected(order.due_provisional, local_date(order.sent_at), order.due_on):
            continue
        old_sign, old_due = apply_order_due(rules, order)
        if old_due != order.due_on:
            changed += 1
            _deadline_event(order.case, actor, order, "完成时限", old_due, order.due_on, order.due_provisional)
        elif old_sign != order.sign_due_on:
            changed += 1
            _deadline_event(order.case, actor, order, "签收时限", old_sign, order.sign_due_on,
                            order.due_provisional)
    case_filter: sa.ColumnElement[bool] = Case.action_due_provisional.is_(True)
    if days:
        case_filter = sa.or_(case_filter, Case.action_due_on >= days[0])
    cases = db.session.scalars(
        sa.select(Case).where(Case.action_due_on.is_not(None), case_filter).order_by(Case.id)
    ).all()
    for case in cases:
        old = case.action_due_on
        if old is None or not affected(case.action_due_provisional, local_date(case.received_at), old):
            continue  # (never None: the query keeps cases with a deadline)
        due = action_due_from_history(rules, case)
        if due is None:
            continue
        case.action_due_on, case.action_due_provisional = due.on, due.provisional
        if old != due.on:
            changed += 1
            _deadline_event(case, actor, None, "完成时限", old, due.on, due.provisional)
    db.session.flush()
    return changed


def _deadline_event(case: Case, actor: User | None, order: Order | None, which: str, old: date, new: date,
                    provisional: bool) -> None:
    """Record on the case's timeline that a calendar edit moved one of its deadlines."""
    what = order.kind.label + order.number if order else "本投诉待办事项"
    note = f"节假日安排更新：{what}的{which}由{format_date_cn(old)}调整为{format_date_cn(new)}"
    if provisional:
        note += "（该年节假日尚未确认，仍为暂定）"
    db.session.add(CaseEvent(case=case, order=order, actor=actor, actor_unit_id=actor.unit_id if actor else None,
                             action="deadline_recomputed", note=note))


def provisional_count() -> int:
    """Open deadlines still resting on a weekends-only guess (the admin index asks the administrator to act)."""
    orders = sa.select(sa.func.count(Order.id)).where(Order.state.in_(OrderState.OPEN),
                                                      Order.due_provisional.is_(True))
    cases = sa.select(sa.func.count(Case.id)).where(Case.action_due_provisional.is_(True),
                                                    Case.action_due_on.is_not(None))
    return (db.session.scalar(orders) or 0) + (db.session.scalar(cases) or 0)
