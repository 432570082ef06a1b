"""The overdue scan: 催办 (remind) → 逾期 (overdue, the issuer is told) → 督办 (escalate upward).

Set-based and idempotent.  Each pass is one ``UPDATE … WHERE level < target
RETURNING id``: a row moves up a level once, so a second scan, or two workers
scanning at once, find nothing left to do (the row lock makes the loser
re-check the level).  A partial index on open, not-yet-escalated orders keeps
the scan's cost independent of how many orders were escalated before.
The unique ``chase_steps`` constraint is a second guard.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from caseflow.deadlines import load_calendar, setting_days
from caseflow.extensions import db
from caseflow.models import (
    Case,
    CaseEvent,
    CaseState,
    ChaseStep,
    Notification,
    Order,
    OrderKind,
    Role,
    Unit,
    User,
)
from caseflow.timeutil import format_date_cn, local_today, utcnow

OPEN = ("sent", "signed", "relayed")
CASE_WAITING = (CaseState.SUBMITTED, CaseState.REGISTERED, CaseState.DECIDING)
CHUNK = 2000

STEP_LABEL = {"remind": "催办", "overdue": "逾期", "escalate": "督办"}


@dataclass(frozen=True)
class Pass:
    """One level of the chase for one deadline column."""

    step: str
    deadline: str  # sign / complete / action
    level: int


def _insert(model):
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(model)


def escalate_after(kind: OrderKind | None) -> int:
    """Working days overdue before escalation, per order kind (default 2)."""
    key = f"escalate_after_days_{kind.value}" if kind else "escalate_after_days"
    try:
        return setting_days(key)
    except KeyError:
        return setting_days("escalate_after_days")


def _bump(model, level_col, level: int, conditions: list) -> list[int]:
    """Raise the chase level of matching rows; returns the ids that moved (once, ever)."""
    stmt = (
        sa.update(model)
        .where(level_col < level, *conditions)
        .values({level_col.key: level})
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return list(db.session.scalars(stmt))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _order_rows(ids: list[int]) -> list[sa.Row]:
    resp = aliased(Unit)
    rows = []
    for chunk in _chunks(ids):
        rows += db.session.execute(
            sa.select(Order.id, Order.number, Order.kind, Order.case_id, Order.receiving_unit_id,
                      Order.issuing_unit_id, Order.due_on, Order.sign_due_on, Case.number.label("case_number"),
                      resp.parent_id.label("escalate_to"))
            .join(Case, Case.id == Order.case_id)
            .join(resp, resp.id == Case.responsible_unit_id)
            .where(Order.id.in_(chunk))
        ).all()
    return rows


def _case_rows(ids: list[int]) -> list[sa.Row]:
    resp = aliased(Unit)
    rows = []
    for chunk in _chunks(ids):
        rows += db.session.execute(
            sa.select(Case.id, Case.number, Case.action_due_on, Case.responsible_unit_id,
                      resp.parent_id.label("escalate_to"))
            .join(resp, resp.id == Case.responsible_unit_id)
            .where(Case.id.in_(chunk))
        ).all()
    return rows


def _order_step(p: Pass, row) -> dict:
    kind = OrderKind(row.kind).label
    due = row.sign_due_on if p.deadline == "sign" else row.due_on
    what = "签收" if p.deadline == "sign" else "办结"
    if p.step == "remind":
        target, reason = row.receiving_unit_id, f"{kind}{row.number}应于{format_date_cn(due)}前{what}，请抓紧办理。"
    elif p.step == "overdue":
        target, reason = row.issuing_unit_id, f"{kind}{row.number}已超过{what}时限{format_date_cn(due)}。"
    else:
        target = row.escalate_to or row.issuing_unit_id
        reason = (f"投诉{row.case_number}的{kind}{row.number}逾期{escalate_after(OrderKind(row.kind))}个工作日以上"
                  f"仍未办结（时限{format_date_cn(due)}），提请上级督办。")
    return dict(subject=f"order:{row.id}", step=p.step, deadline=p.deadline, due_on=due, case_id=row.case_id,
                order_id=row.id, target_unit_id=target, reason=reason)


def _case_step(p: Pass, row) -> dict:
    due = row.action_due_on
    if p.step == "remind":
        target, reason = row.responsible_unit_id, f"投诉{row.number}应于{format_date_cn(due)}前完成下一步处理。"
    elif p.step == "overdue":
        target, reason = row.responsible_unit_id, f"投诉{row.number}已超过处理时限{format_date_cn(due)}。"
    else:
        target = row.escalate_to or row.responsible_unit_id
        reason = f"投诉{row.number}逾期{escalate_after(None)}个工作日以上未处理（时限{format_date_cn(due)}），提请上级督办。"
    return dict(subject=f"case:{row.id}", step=p.step, deadline="action", due_on=due, case_id=row.id,
                order_id=None, target_unit_id=target, reason=reason)


# Who hears of a step at the target unit.
AUDIENCE = {
    "remind": (Role.OFFICER, Role.SUPERVISOR),
    "overdue": (Role.SUPERVISOR, Role.OFFICER),
    "escalate": (Role.SUPERVISOR,),
}


def _record(steps: list[dict], now) -> int:
    """Insert the steps (once each), their timeline events and the notifications; returns how many."""
    if not steps:
        return 0
    created = []
    for i in range(0, len(steps), CHUNK):
        chunk = [dict(s, created_at=now) for s in steps[i:i + CHUNK]]
        stmt = _insert(ChaseStep).values(chunk).on_conflict_do_nothing().returning(
            ChaseStep.id, ChaseStep.step, ChaseStep.case_id, ChaseStep.order_id, ChaseStep.target_unit_id,
            ChaseStep.reason)
        created += db.session.execute(stmt).all()
    if not created:
        return 0
    db.session.execute(sa.insert(CaseEvent), [
        dict(case_id=c.case_id, order_id=c.order_id, actor_id=None, actor_unit_id=None,
             action=f"chase_{c.step}", from_state=None, to_state=None, note=c.reason, public=False, created_at=now)
        for c in created
    ])
    units = {c.target_unit_id for c in created}
    users = db.session.execute(
        sa.select(User.id, User.unit_id, User.role, User.email).where(User.unit_id.in_(units), User.active)
    ).all()
    by_unit: dict[int, list] = {}
    for u in users:
        by_unit.setdefault(u.unit_id, []).append(u)
    notes, emails = [], 0
    for c in created:
        for u in by_unit.get(c.target_unit_id, []):
            if u.role in AUDIENCE[c.step]:
                notes.append(dict(user_id=u.id, kind=c.step, title=f"【{STEP_LABEL[c.step]}】{c.reason[:60]}",
                                  body=c.reason, link=None, case_id=c.case_id, chase_step_id=c.id,
                                  created_at=now, email_state="pending" if u.email else None))
                emails += bool(u.email)
    for i in range(0, len(notes), CHUNK):
        db.session.execute(_insert(Notification).values(notes[i:i + CHUNK]).on_conflict_do_nothing())
    if emails:
        from caseflow.jobs import add_outbox

        add_outbox("email_notifications")
    return len(created)


def run_scan(today: date | None = None) -> dict[str, int]:
    """One scan over every open order and waiting case. Flushes; the caller commits."""
    cal = load_calendar()
    today = today or local_today()
    soon = cal.add(today, 1).on
    now = utcnow()
    counts: Counter[str] = Counter()
    open_order = Order.state.in_(OPEN)

    def order_pass(p: Pass, level_col, conditions):
        ids = _bump(Order, level_col, p.level, [open_order, *conditions])
        if ids:
            counts[f"{p.deadline}_{p.step}"] += _record([_order_step(p, r) for r in _order_rows(ids)], now)

    sent = Order.state == "sent"
    order_pass(Pass("remind", "sign", 1), Order.sign_chase_level,
               [sent, Order.sign_due_on >= today, Order.sign_due_on <= soon])
    order_pass(Pass("overdue", "sign", 2), Order.sign_chase_level, [sent, Order.sign_due_on < today])
    order_pass(Pass("remind", "complete", 1), Order.chase_level, [Order.due_on >= today, Order.due_on <= soon])
    order_pass(Pass("overdue", "complete", 2), Order.chase_level, [Order.due_on < today])
    for kind in OrderKind:
        cutoff = cal.back(today, escalate_after(kind))
        # Escalation concerns the case: only the root hop of a chain is escalated.
        order_pass(Pass("escalate", "complete", 3), Order.chase_level,
                   [Order.kind == kind, Order.parent_id.is_(None), Order.due_on <= cutoff, Order.due_on < today])

    waiting = [Case.state.in_(CASE_WAITING), Case.action_due_on.is_not(None)]

    def case_pass(p: Pass, conditions):
        ids = _bump(Case, Case.action_chase_level, p.level, [*waiting, *conditions])
        if ids:
            counts[f"action_{p.step}"] += _record([_case_step(p, r) for r in _case_rows(ids)], now)

    case_pass(Pass("remind", "action", 1), [Case.action_due_on >= today, Case.action_due_on <= soon])
    case_pass(Pass("overdue", "action", 2), [Case.action_due_on < today])
    case_pass(Pass("escalate", "action", 3),
              [Case.action_due_on <= cal.back(today, escalate_after(None)), Case.action_due_on < today])
    db.session.flush()
    return dict(counts)
