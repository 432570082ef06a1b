"""督办 by hand, where an escalation is shown: a supervision opinion (督办意见) recorded on a lower unit's
case, and 提请上级督办 — asking the next level up to supervise, with a reason.

Each is an event on the case's timeline and a message to the supervisors concerned; who may do it is
``permissions`` ("supervise", "escalate_up").  The contact people of the units below are listed here
too, so that a supervisor can pick up the phone.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from caseflow.cases import permissions
from caseflow.chase.queries import BY_HAND
from caseflow.deadlines import status
from caseflow.errors import IllegalTransition, InvalidInput
from caseflow.extensions import db
from caseflow.models import Case, CaseEvent, ChaseStep, Notification, Role, Unit, User
from caseflow.timeutil import local_today, utcnow


@dataclass(frozen=True)
class Contact:
    """Who to call at a unit about a case: the person, their phone, and what they handle."""

    unit: Unit
    role: str
    person: str | None
    phone: str | None


def contacts(case: Case) -> list[Contact]:
    """The responsible unit's supervisors, and the 承办人 of each order still open (the unit's phone as fallback)."""
    unit = case.responsible_unit
    people = db.session.scalars(sa.select(User).where(User.unit_id == unit.id, User.role == Role.SUPERVISOR,
                                                      User.active).order_by(User.id)).all()
    out = [Contact(unit, "处理责任单位责任人", u.name, u.phone or unit.phone) for u in people] or \
        [Contact(unit, "处理责任单位", None, unit.phone)]
    for order in case.orders:
        if status.completion_running(order):
            out.append(Contact(order.receiving_unit, f"{order.kind.label}承办单位", order.acting_person,
                               order.acting_phone or order.receiving_unit.phone))
    return out


def _text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{what}", field="text")
    if len(value) > 2000:
        raise InvalidInput(f"{what}不能超过2000字", field="text")
    return value


def _tell(unit_id: int, case: Case, kind: str, title: str, body: str, step_id: int | None = None) -> None:
    """An in-app message (and email, where there is an address) to the supervisors of a unit."""
    for user in db.session.scalars(sa.select(User).where(User.unit_id == unit_id, User.role == Role.SUPERVISOR,
                                                         User.active)):
        db.session.add(Notification(user_id=user.id, kind=kind, title=title[:200], body=body, case_id=case.id,
                                    link=f"/cases/{case.number}", chase_step_id=step_id,
                                    email_state="pending" if user.email else None))


def record_opinion(actor: User, case: Case, text: str) -> CaseEvent:
    """督办意见: the supervising unit's instruction to the unit responsible, on the case's timeline."""
    permissions.check(actor, "supervise", case)
    text = _text(text, "督办意见")
    event = CaseEvent(case=case, actor=actor, actor_unit_id=actor.unit_id, action="supervision_opinion", note=text)
    db.session.add(event)
    _tell(case.responsible_unit_id, case, "supervise", f"{actor.unit.name}督办意见：投诉{case.number}", text)
    db.session.flush()
    return event


def escalate_up(actor: User, case: Case, reason: str) -> ChaseStep:
    """提请上级督办: ask the unit above the actor's to supervise the case (at most once a day per level)."""
    permissions.check(actor, "escalate_up", case)
    reason = _text(reason, "提请督办的理由")
    target = actor.unit.parent
    assert target is not None  # the rule asks for a unit above
    subject = f"{BY_HAND}{case.id}:{target.id}"
    today = local_today()
    if db.session.scalar(sa.select(ChaseStep.id).where(ChaseStep.subject == subject, ChaseStep.due_on == today)):
        raise IllegalTransition(f"今天已提请{target.name}督办该投诉。")
    text = f"{actor.unit.name}提请{target.name}督办投诉{case.number}：{reason}"
    step = ChaseStep(subject=subject, step="escalate", deadline="action", due_on=today, case_id=case.id,
                     target_unit_id=target.id, reason=text, created_at=utcnow())
    db.session.add(step)
    db.session.add(CaseEvent(case=case, actor=actor, actor_unit_id=actor.unit_id, action="escalate_up",
                             note=f"提请{target.name}督办：{reason}"))
    db.session.flush()
    _tell(target.id, case, "escalate", f"提请督办：投诉{case.number}", text, step.id)
    db.session.flush()
    return step
