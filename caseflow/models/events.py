"""The append-only event log: a case's timeline and the audit of who looked at what."""
from __future__ import annotations

from datetime import datetime
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


FIGURE_ACTIONS = "action IN ('close', 'rate')"


class CaseEvent(Model):
    """One move on a case: who, when, what, from which state to which, and a note."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(24))
    to_state: Mapped[str | None] = mapped_column(sa.String(24))
    note: Mapped[str | None] = mapped_column(sa.Text)
    # A machine-readable value of the move (the rating given), for figures that never drift.
    value: Mapped[str | None] = mapped_column(sa.String(24))
    # Working days from receipt, frozen on a ``close`` event (the dashboard's 受理至办结 stage).
    workdays: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # Shown on the citizen's tracking page (without names of officials).
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

    case: Mapped[Case] = relationship(back_populates="events")
    order: Mapped[Order | None] = relationship()
    actor: Mapped[User | None] = relationship()
    actor_unit: Mapped[Unit | None] = relationship()

    __table_args__ = (
        # The dashboard's closings and ratings per month, read from the index alone.
        sa.Index("ix_case_events_figures", "created_at", "case_id", "action", "value", "workdays",
                 postgresql_where=sa.text(FIGURE_ACTIONS), sqlite_where=sa.text(FIGURE_ACTIONS)),
    )


class AuditEntry(Model):
    """Who saw personal data or printed it: every reveal, print and lookup."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str] = mapped_column(sa.String(40))
    target_ref: Mapped[str] = mapped_column(sa.String(80), index=True)
    # Keyed hash of the person's ID number, so "who looked at this student" is answerable.
    subject_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)

    user: Mapped[User | None] = relationship()
