"""Complaints (cases), the people on them and the schools they concern."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model, db
from caseflow.labels import sql_values
from caseflow.models.enums import CaseSource, CaseState, Category, MatchReason, NoticePreference, Rating, Sex
from caseflow.models.types import Encrypted, UTCDateTime, enum_column, now_utc
from caseflow.models.units import Unit

if TYPE_CHECKING:  # the other side of a relationship, named in annotations only
    from caseflow.models.attachments import Attachment
    from caseflow.models.events import CaseEvent
    from caseflow.models.orders import Order

case_schools = sa.Table(
    "case_schools",
    db.metadata,
    sa.Column("case_id", sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.ForeignKey("units.id"), primary_key=True),
    sa.Index("ix_case_schools_unit_id", "unit_id", "case_id"),  # the school filter
)


class Person(Model):
    """A complainant or a student as written on the forms. ID number, phone and registry number are encrypted."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    sex: Mapped[Sex | None] = mapped_column(enum_column(Sex))
    age: Mapped[int | None]
    ethnicity: Mapped[str | None] = mapped_column(sa.String(20))
    birth_date: Mapped[date | None]
    id_number: Mapped[str | None] = mapped_column(Encrypted)
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phone: Mapped[str | None] = mapped_column(Encrypted)
    phone_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # A G-number is "G" + the ID number, so the registry number is as sensitive as the ID number.
    registry_no: Mapped[str | None] = mapped_column(Encrypted)
    registry_no_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    # Names: trigrams on PostgreSQL (migration 0012; a repeat complaint's student found by name), a plain index
    # elsewhere.  The lists find a name through the cases' search tokens (``Case.search_tokens``).
    __table_args__ = (
        sa.Index("ix_persons_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )


_UNFINISHED = f"state NOT IN ({sql_values(CaseState.FINISHED)})"


class Case(Model):
    """One complaint, from submission to the complainant's rating."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    access_code_hash: Mapped[str] = mapped_column(sa.String(64))
    # Random token of the rendered form: a resubmission of the same form finds this case.
    submission_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    source: Mapped[CaseSource] = mapped_column(enum_column(CaseSource))
    category: Mapped[Category] = mapped_column(enum_column(Category))
    state: Mapped[CaseState] = mapped_column(enum_column(CaseState), index=True)
    round: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(sa.Text)
    # 所投诉事项 as the responsible unit words it on the orders; defaults to the description.
    complaint_summary: Mapped[str | None] = mapped_column(sa.Text)
    complainant_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    responsible_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    routing_note: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the responsible unit must do next (issue orders, decide) and by when.
    action_due_on: Mapped[date | None]
    action_due_provisional: Mapped[bool] = mapped_column(default=False)
    action_chase_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    # The answer given to the complainant at closing (or referral).
    reply: Mapped[str | None] = mapped_column(sa.Text)
    rating: Mapped[Rating | None] = mapped_column(enum_column(Rating))
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(default=1)
    # Retention: a case under legal hold is never anonymised; anonymised_at says when it was.
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The complainant after submitting (caseflow.cases.citizen_actions): how they want to be told of
    # progress, and a withdrawal (撤诉) with its reason.
    notice: Mapped[NoticePreference] = mapped_column(enum_column(NoticePreference), default=NoticePreference.SMS,
                                                     server_default=NoticePreference.SMS.value)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)
    # 并单: a repeat complaint merged into an earlier case (its primary) keeps its own number and code,
    # is MERGED, and remembers the state it had, which unmerging restores.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    state_before_merge: Mapped[str | None] = mapped_column(sa.String(24))
    # The name characters and the units that may see the case, for searches (PostgreSQL only; kept by
    # caseflow.cases.search_tokens before every commit, migration 0027).  Never loaded with the case.
    search_tokens: Mapped[list[int] | None] = mapped_column(
        postgresql.ARRAY(sa.Integer).with_variant(sa.JSON(), "sqlite"), deferred=True)

    complainant: Mapped[Person] = relationship(foreign_keys=[complainant_id])
    student: Mapped[Person] = relationship(foreign_keys=[student_id])
    responsible_unit: Mapped[Unit] = relationship()
    merged_into: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])
    schools: Mapped[list[Unit]] = relationship(secondary=case_schools, order_by=Unit.code)
    orders: Mapped[list[Order]] = relationship(
        back_populates="case", order_by="Order.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case", order_by="Attachment.id"
    )

    __mapper_args__ = {"version_id_col": version_id}
    __table_args__ = (
        # The case list's default order: the action deadline first (nulls last), then the newest.
        sa.Index("ix_cases_action_due", "action_due_on", sa.text("id DESC")),
        sa.CheckConstraint("(state = 'rejected') = (rejection_reason IS NOT NULL)", name="rejected_has_reason"),
        sa.CheckConstraint("state != 'closed' OR closed_at IS NOT NULL", name="closed_has_time"),
        sa.CheckConstraint("(rating IS NULL) = (rated_at IS NULL)", name="rating_has_time"),
        sa.CheckConstraint("(state = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_primary"),
        # The dashboard's counts per unit and month, read from the index alone (the state: merged ones
        # are counted once, as their primary).
        sa.Index("ix_cases_received_unit", "received_at", "responsible_unit_id", "state"),
        sa.Index("ix_cases_unit_state", "responsible_unit_id", "state"),
        # A withdrawal has its reason and time; the report's withdrawals per unit and month by this index.
        sa.CheckConstraint("(state = 'withdrawn') = (withdrawal_reason IS NOT NULL)", name="withdrawn_has_reason"),
        sa.CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_has_time"),
        sa.Index("ix_cases_withdrawn", "withdrawn_at", "responsible_unit_id"),
        # The dashboard's late and escalated cases now: the open cases, found without reading every case.
        sa.Index("ix_cases_unfinished", "id", "responsible_unit_id", "round", postgresql_where=sa.text(_UNFINISHED),
                 sqlite_where=sa.text(_UNFINISHED)),
        sa.Index("ix_cases_unfinished_unit", "responsible_unit_id", postgresql_where=sa.text(_UNFINISHED),
                 sqlite_where=sa.text(_UNFINISHED)),
        sa.Index("ix_cases_search_tokens", "search_tokens", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.state}>"


class CaseLink(Model):
    """A possible repeat complaint: a later case (``case``) about the same student as an earlier one (``other``).

    Found at intake with the reason of the match; ``linked_at`` is set when the responsible unit links
    the two as related (关联) without merging. A merge is on the case itself (``Case.merged_into``).
    """

    __tablename__ = "case_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    reason: Mapped[MatchReason] = mapped_column(enum_column(MatchReason))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    other: Mapped[Case] = relationship(foreign_keys=[other_id])

    __table_args__ = (sa.UniqueConstraint("case_id", "other_id", name="uq_case_links_pair"),)


class Counter(Model):
    """Sequential numbers per name and year (case numbers, order numbers)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
