"""Chasing deadlines: the record of each reminder, overdue mark and escalation, and the in-app inbox."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model
from caseflow.models.types import UTCDateTime, now_utc
from caseflow.models.units import Unit
from caseflow.models.users import User

if TYPE_CHECKING:  # the other side of a relationship, named in annotations only
    from caseflow.models.cases import Case
    from caseflow.models.orders import Order


class ChaseStep(Model):
    """One step of 催办 → 逾期 → 督办 on one deadline; unique, so a step happens once per deadline.

    ``subject`` is ``order:<id>`` or ``case:<id>``; ``deadline`` says which date was chased
    (``sign``, ``complete`` or ``action``); ``due_on`` is that date, so an extension starts afresh.
    """

    __tablename__ = "chase_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(30))
    step: Mapped[str] = mapped_column(sa.String(12))
    deadline: Mapped[str] = mapped_column(sa.String(12))
    due_on: Mapped[date]
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    # Who is chased (remind), told (overdue) or must supervise (escalate).
    target_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    target_unit: Mapped[Unit] = relationship()
    case: Mapped[Case] = relationship()
    order: Mapped[Order | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("subject", "step", "deadline", "due_on", name="uq_chase_steps_once"),
        sa.CheckConstraint("step IN ('remind', 'overdue', 'escalate')", name="step_known"),
        sa.CheckConstraint("deadline IN ('sign', 'complete', 'action', 'review')", name="deadline_known"),
        # The dashboard's escalated cases, read from the escalations alone.
        sa.Index("ix_chase_steps_escalations", "case_id", postgresql_where=sa.text("step = 'escalate'"),
                 sqlite_where=sa.text("step = 'escalate'")),
    )


class Notification(Model):
    """A message in an official's in-app inbox (and, if they have an address, by email)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(200))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    chase_step_id: Mapped[int | None] = mapped_column(sa.ForeignKey("chase_steps.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: no email wanted; pending → sending → sent, or failed (shown to administrators).
    email_state: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    email_error: Mapped[str | None] = mapped_column(sa.Text)

    user: Mapped[User] = relationship()
    case: Mapped[Case | None] = relationship()
    chase_step: Mapped[ChaseStep | None] = relationship()  # its order, when the chase was about one

    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.UniqueConstraint("user_id", "chase_step_id", name="uq_notifications_user_step"),
    )


class EmailMessage(Model):
    """An email handed to the SMTP server: the record that makes delivery at-most-once."""

    __tablename__ = "email_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id"), unique=True)
    recipient: Mapped[str] = mapped_column(sa.String(120))
    subject: Mapped[str] = mapped_column(sa.String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class MonthlyReport(Model):
    """The monthly report (通报) of one unit, frozen when generated: later edits never change it."""

    __tablename__ = "monthly_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    month: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM
    data: Mapped[dict] = mapped_column(sa.JSON)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    unit: Mapped[Unit] = relationship()

    __table_args__ = (sa.UniqueConstraint("unit_id", "month", name="uq_monthly_reports_unit_month"),)


def _restart_chase_when_deadline_moves() -> None:
    """A moved deadline (extension, rework, recomputed calendar) is chased from the start again."""
    from caseflow.models.cases import Case
    from caseflow.models.orders import Order

    def resetter(level_attr: str):
        def _reset(target, value, oldvalue, initiator):
            if value != oldvalue:
                setattr(target, level_attr, 0)
            return value

        return _reset

    sa.event.listen(Order.due_on, "set", resetter("chase_level"), retval=True)
    sa.event.listen(Order.sign_due_on, "set", resetter("sign_chase_level"), retval=True)
    sa.event.listen(Order.review_due_on, "set", resetter("review_chase_level"), retval=True)
    sa.event.listen(Case.action_due_on, "set", resetter("action_chase_level"), retval=True)


_restart_chase_when_deadline_moves()
