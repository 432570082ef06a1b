"""What the supervision pages list: escalations to a unit, a user's notifications, failed deliveries."""
from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from caseflow.deadlines import status
from caseflow.extensions import db
from caseflow.models import CaseState, ChaseStep, Notification, OutboxItem, Unit, User
from caseflow.timeutil import utcnow

# The subject of an escalation asked for by hand (chase.supervise), not by the deadline scan.
BY_HAND = "hand:"


_ESCALATION = ChaseStep.step == "escalate"


def escalated(case: Any) -> Any:
    """SQL: the case (the Case class) was escalated to a higher level (督办) and is not finished yet."""
    return case.state.not_in(CaseState.FINISHED) & sa.exists().where(ChaseStep.case_id == case.id, _ESCALATION)


def escalated_cases(case: Any, *columns: Any) -> sa.Select:
    """SQL: the cases ``escalated`` finds (their id and ``columns``), read from the escalations themselves
    (a case escalated twice comes twice): for counting many cases at once."""
    return (sa.select(case.id, *columns).select_from(ChaseStep).join(case, case.id == ChaseStep.case_id)
            .where(case.state.not_in(CaseState.FINISHED), _ESCALATION))



def escalations_to(unit: Unit) -> list[ChaseStep]:
    """督办 records addressed to this unit, newest first."""
    return list(db.session.scalars(
        sa.select(ChaseStep).where(ChaseStep.step == "escalate", ChaseStep.target_unit_id == unit.id)
        .order_by(ChaseStep.created_at.desc(), ChaseStep.id.desc()).limit(500)))


def escalations_of(case_id: int) -> list[ChaseStep]:
    """The case's escalations (by the scan or by hand), oldest first: the case page's 督办 block."""
    return list(db.session.scalars(sa.select(ChaseStep).where(ChaseStep.case_id == case_id, ChaseStep.step == "escalate")
                                   .order_by(ChaseStep.created_at, ChaseStep.id)))


def history_of(steps: list[ChaseStep]) -> dict[int, list[ChaseStep]]:
    """Every chase step of the cases concerned, by case id, oldest first."""
    case_ids = {s.case_id for s in steps}
    if not case_ids:
        return {}
    out: dict[int, list[ChaseStep]] = {}
    for s in db.session.scalars(sa.select(ChaseStep).where(ChaseStep.case_id.in_(case_ids))
                                .order_by(ChaseStep.created_at, ChaseStep.id)):
        out.setdefault(s.case_id, []).append(s)
    return out


def still_open(step: ChaseStep) -> bool:
    """Whether what was escalated is still waiting (the order open, or the case deadline unchanged;
    for an escalation by hand, the case not finished)."""
    if step.subject.startswith(BY_HAND):
        return step.case.state not in CaseState.FINISHED
    if step.order is not None:
        return status.completion_running(step.order) and step.order.due_on == step.due_on
    return step.case.action_due_on == step.due_on


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_for(user: User, page: int, per_page: int = 30):
    return db.paginate(sa.select(Notification).where(Notification.user_id == user.id)
                       .options(selectinload(Notification.case),
                                selectinload(Notification.chase_step).selectinload(ChaseStep.order))
                       .order_by(Notification.created_at.desc(), Notification.id.desc()),
                       page=page, per_page=per_page, error_out=False)


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or all) of the user's notifications read; another user's id changes nothing."""
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    # An UPDATE gives a CursorResult; Session.execute is typed for the general Result.
    result = cast("sa.CursorResult[Any]", db.session.execute(stmt.values(read_at=utcnow())))
    return result.rowcount


def failed_deliveries() -> tuple[list[OutboxItem], list[Notification]]:
    """Outbox items and emails that failed for good, for administrators."""
    items = list(db.session.scalars(sa.select(OutboxItem).where(OutboxItem.state == "failed")
                                    .order_by(OutboxItem.id.desc()).limit(200)))
    emails = list(db.session.scalars(sa.select(Notification).where(Notification.email_state == "failed")
                                     .order_by(Notification.id.desc()).limit(200)))
    return items, emails


def retry_failed(item_id: int) -> bool:
    """Give a failed outbox item another go (administrator's decision)."""
    item = db.session.get(OutboxItem, item_id)
    if item is None or item.state != "failed":
        return False
    item.state, item.attempts, item.next_attempt_at = "pending", 0, utcnow()
    return True
