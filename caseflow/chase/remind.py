"""The manual 催办: a supervisor above the receiving unit chases an order, with a message.

It takes the scan's path for a reminder: an event on the case's timeline (``chase_remind``, shown as
催办) and a notification to the receiving unit's officers and supervisors, emailed through the outbox
after the commit.  It is no ``ChaseStep``: those are the scan's one-per-deadline levels, which a manual
reminder neither sets nor uses up.
"""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import permissions
from caseflow.chase.scan import AUDIENCE, STEP_LABEL
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import CaseEvent, Notification, Order, User
from caseflow.timeutil import format_date_cn, utcnow

MESSAGE_MAX = 500


def remind_order(actor: User, order: Order, message: str) -> CaseEvent:
    """催办 one order: checks like every action, records the event, notifies the receiving unit. Flushes."""
    permissions.check(actor, "remind", order)
    text = (message or "").strip()
    if not text:
        raise InvalidInput("请填写催办内容。", field="message")
    if len(text) > MESSAGE_MAX:
        raise InvalidInput(f"催办内容不能超过{MESSAGE_MAX}字。", field="message")
    reason = (f"{actor.unit.name}催办{order.kind.label}{order.number}（完成时限{format_date_cn(order.due_on)}）："
              f"{text}")
    now = utcnow()
    event = CaseEvent(case_id=order.case_id, order_id=order.id, actor_id=actor.id, actor_unit_id=actor.unit_id,
                      action="chase_remind", note=reason, public=False, created_at=now)
    db.session.add(event)
    readers = db.session.execute(sa.select(User.id, User.email).where(
        User.unit_id == order.receiving_unit_id, User.active, User.role.in_(AUDIENCE["remind"]))).all()
    title = f"【{STEP_LABEL['remind']}】" + reason[:60]
    db.session.add_all(Notification(user_id=u.id, kind="remind", title=title, body=reason, case_id=order.case_id,
                                    link=f"/orders/{order.number}", created_at=now,
                                    email_state="pending" if u.email else None) for u in readers)
    if any(u.email for u in readers):
        from caseflow.jobs import add_outbox

        add_outbox("email_notifications")
    db.session.flush()
    return event
