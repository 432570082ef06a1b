"""Follow-up tasks (回访): one per closed round of a case, ended by an online rating or an officer's call."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model
from caseflow.models.cases import Case
from caseflow.models.enums import FollowUpState, Rating, Resolution
from caseflow.models.types import UTCDateTime, enum_column, now_utc
from caseflow.models.units import Unit
from caseflow.models.users import User


class FollowUp(Model):
    """The responsible unit's follow-up of one closing: who owes it, until when, and its outcome.

    ``rate_until`` is the last day an online rating replaces the call (None when the complainant
    cannot rate online: phone and letter complaints); ``due_on`` is the call's deadline.  The outcome
    (``in_time``, ``resolution``, ``rating``) is frozen when the task ends, so the rates never drift.
    """

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    round: Mapped[int]
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    state: Mapped[FollowUpState] = mapped_column(enum_column(FollowUpState))
    closed_on: Mapped[date]
    rate_until: Mapped[date | None]
    due_on: Mapped[date]
    failed_calls: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    # How far the chase scan has gone on the call's deadline (1 reminded, 2 overdue), as for orders.
    chase_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    in_time: Mapped[bool | None]
    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution))
    rating: Mapped[Rating | None] = mapped_column(enum_column(Rating))
    note: Mapped[str | None] = mapped_column(sa.Text)
    version_id: Mapped[int] = mapped_column(default=1)

    case: Mapped[Case] = relationship()
    unit: Mapped[Unit] = relationship()
    ended_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version_id}
    __table_args__ = (
        sa.UniqueConstraint("case_id", "round", name="uq_follow_ups_case_round"),
        # The officers' list: a unit's open tasks by deadline.
        sa.Index("ix_follow_ups_unit_state", "unit_id", "state", "due_on"),
        # The three rates per unit and month, from the ended tasks.
        sa.Index("ix_follow_ups_ended", "ended_at", "unit_id"),
        sa.CheckConstraint("(state = 'pending') = (ended_at IS NULL)", name="ended_has_time"),
    )
