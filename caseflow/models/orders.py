"""Verification orders (核查单) and supervision orders (督办单), and their extensions."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from caseflow.extensions import Model
from caseflow.labels import sql_values
from caseflow.models.enums import ExtensionState, OrderKind, OrderState, PauseReason, Verdict
from caseflow.models.types import Encrypted, UTCDateTime, enum_column, keyed_hash, now_utc
from caseflow.models.units import Unit
from caseflow.models.users import User

if TYPE_CHECKING:  # the other side of a relationship, named in annotations only
    from caseflow.models.cases import Case

# The chase's partial indexes cover the orders whose receiver still has to act.
_CHASED = f"state IN ({sql_values(OrderState.WORKING)})"
_OPEN = f"state IN ({sql_values(OrderState.OPEN)})"
# The deadline the receiver must meet next (signing, then completing): the order lists' default order.
# The same expression as ``status.order_urgency`` (sign_running / completion_running), so the
# planner reads the sorted list off this index instead of sorting every visible order (migration 0012).
# Written as PostgreSQL prints it back: the migrations-vs-models check compares the reflected text.
_URGENT_ON_PG = ("(\nCASE\n    WHEN state::text = 'sent'::text THEN sign_due_on\n    WHEN state::text = ANY (ARRAY["
                 + ", ".join(f"'{s.value}'::character varying" for s in OrderState.WORKING)
                 + "]::text[]) THEN due_on\n    ELSE NULL::date\nEND)")


class Order(Model):
    """One hop of an order: from the issuing unit to the receiving unit.

    An order relayed down a level gets a child order (``parent_id``); the result
    travels back up the same chain, each hop recorded.
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    kind: Mapped[OrderKind] = mapped_column(enum_column(OrderKind))
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    round: Mapped[int] = mapped_column(default=1)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    issuing_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    receiving_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    state: Mapped[OrderState] = mapped_column(enum_column(OrderState), index=True)
    # 所投诉事项 / 投诉事项 as written by the issuing unit.
    content: Mapped[str] = mapped_column(sa.Text)
    handling_opinion: Mapped[str | None] = mapped_column(sa.Text)  # 办理意见 (supervision)
    findings: Mapped[str | None] = mapped_column(sa.Text)  # 经核实的情况 (verification)
    verdict: Mapped[Verdict | None] = mapped_column(enum_column(Verdict))
    handling_result: Mapped[str | None] = mapped_column(sa.Text)  # 办理情况 (supervision)
    # 责任人 of the issuing unit and 承办人 of the receiving unit, with phones, as printed.
    responsible_person: Mapped[str | None] = mapped_column(sa.String(60))
    # Officials' phones are personal data: sealed, found by their keyed hashes (kept in step by ``_hash_phone``).
    responsible_phone: Mapped[str | None] = mapped_column(Encrypted)
    responsible_phone_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    acting_person: Mapped[str | None] = mapped_column(sa.String(60))
    acting_phone: Mapped[str | None] = mapped_column(Encrypted)
    acting_phone_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sign_due_on: Mapped[date]
    due_on: Mapped[date]
    due_provisional: Mapped[bool] = mapped_column(default=False)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    sent_back_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Return review (退单审核): who decides the pending return (the issuing unit, or the unit above it once
    # the issuer passed the dispute up), by when, and what was decided when it was refused or ruled on.
    return_reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    review_due_on: Mapped[date | None]
    review_chase_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    return_decision: Mapped[str | None] = mapped_column(sa.Text)
    # Working days the order's clock stood still (approved pauses, 中止计时), already added to ``due_on``.
    paused_workdays: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Frozen when it happens, so later extensions or calendar edits never rewrite the figures.
    signed_on_time: Mapped[bool | None]
    completed_on_time: Mapped[bool | None]
    # Working days the step took (``policy.working_days_taken``), frozen with it: the dashboard averages them.
    sign_workdays: Mapped[int | None] = mapped_column(sa.SmallInteger)
    complete_workdays: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # How far the deadline chase has gone for the current due dates (0 none, 1 reminded,
    # 2 overdue, 3 escalated); reset when a deadline moves. Lets the scan skip finished orders.
    chase_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    sign_chase_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    version_id: Mapped[int] = mapped_column(default=1)

    case: Mapped[Case] = relationship(back_populates="orders")
    parent: Mapped[Order | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Order]] = relationship(back_populates="parent", order_by="Order.id")
    issuing_unit: Mapped[Unit] = relationship(foreign_keys=[issuing_unit_id])
    receiving_unit: Mapped[Unit] = relationship(foreign_keys=[receiving_unit_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    extensions: Mapped[list[ExtensionRequest]] = relationship(
        back_populates="order", order_by="ExtensionRequest.id"
    )
    pauses: Mapped[list[OrderPause]] = relationship(back_populates="order", order_by="OrderPause.id")
    return_reviewer: Mapped[Unit | None] = relationship(foreign_keys=[return_reviewer_id])

    __mapper_args__ = {"version_id_col": version_id}
    __table_args__ = (
        sa.CheckConstraint("state NOT IN ('returned', 'return_pending') OR return_reason IS NOT NULL",
                           name="returned_has_reason"),
        sa.CheckConstraint(
            "state NOT IN ('reported', 'accepted') OR reported_at IS NOT NULL", name="reported_has_time"
        ),
        sa.CheckConstraint("state IN ('sent', 'returned', 'return_pending', 'cancelled') OR signed_at IS NOT NULL",
                           name="signed_has_time"),
        sa.CheckConstraint("state != 'return_pending' OR (review_due_on IS NOT NULL AND return_reviewer_id IS NOT NULL)",
                           name="return_pending_reviewed"),
        sa.CheckConstraint("sign_due_on <= due_on", name="sign_due_before_due"),
        sa.Index("ix_orders_receiving_case", "receiving_unit_id", "case_id"),  # visibility: orders in a subtree
        # The inbox: orders a unit must work (it received them) or review (it issued them), still open.
        sa.Index("ix_orders_inbox_receiving", "receiving_unit_id", postgresql_where=sa.text(_CHASED),
                 sqlite_where=sa.text(_CHASED)),
        sa.Index("ix_orders_inbox_issuing", "issuing_unit_id", postgresql_where=sa.text(_OPEN),
                 sqlite_where=sa.text(_OPEN)),
        sa.Index("ix_orders_urgency", sa.text(_URGENT_ON_PG), sa.column("id").desc()).ddl_if(dialect="postgresql"),
        sa.Index("ix_orders_chase_open", "due_on",
                 postgresql_where=sa.text(f"{_CHASED} AND chase_level < 3"),
                 sqlite_where=sa.text(f"{_CHASED} AND chase_level < 3")),
        sa.Index("ix_orders_review_chase_open", "review_due_on",
                 postgresql_where=sa.text("state = 'return_pending' AND review_chase_level < 2"),
                 sqlite_where=sa.text("state = 'return_pending' AND review_chase_level < 2")),
        sa.Index("ix_orders_sign_chase_open", "sign_due_on",
                 postgresql_where=sa.text("state = 'sent' AND sign_chase_level < 2"),
                 sqlite_where=sa.text("state = 'sent' AND sign_chase_level < 2")),
        # The dashboard's rates and stage days, read from the indexes alone.
        sa.Index("ix_orders_sent_figures", "sent_at", "receiving_unit_id", "kind", "signed_on_time", "sign_workdays",
                 "completed_on_time", "complete_workdays"),
        sa.Index("ix_orders_reported_figures", "reported_at", "receiving_unit_id", "completed_on_time",
                 postgresql_where=sa.text("completed_on_time IS NOT NULL"),
                 sqlite_where=sa.text("completed_on_time IS NOT NULL")),
    )

    @property
    def is_open(self) -> bool:
        return self.state in OrderState.OPEN

    @property
    def active_child(self) -> Order | None:
        """The open hop below this one, if it was relayed."""
        for child in reversed(self.children):
            if child.state not in (OrderState.RETURNED, OrderState.CANCELLED):
                return child
        return None

    @property
    def root(self) -> Order:
        order = self
        while order.parent is not None:
            order = order.parent
        return order

    @validates("responsible_phone", "acting_phone")
    def _hash_phone(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_hash", keyed_hash(value))
        return value

    def __repr__(self) -> str:
        return f"<Order {self.number} {self.state}>"


class ExtensionRequest(Model):
    """A request to move an order's deadline, decided by the issuing unit."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    requested_due_on: Mapped[date]
    previous_due_on: Mapped[date]
    state: Mapped[ExtensionState] = mapped_column(enum_column(ExtensionState))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    order: Mapped[Order] = relationship(back_populates="extensions")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])

    __table_args__ = (
        sa.CheckConstraint("(state = 'pending') = (decided_at IS NULL)", name="decided_has_time"),
    )


class OrderPause(Model):
    """A request to stop an order's clock (中止计时), decided by the issuing unit; once approved, the pause
    runs from ``started_at`` until resumed by hand or, at the latest, on ``ends_by`` (by the scan)."""

    __tablename__ = "order_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[PauseReason] = mapped_column(enum_column(PauseReason))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[ExtensionState] = mapped_column(enum_column(ExtensionState))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_by: Mapped[date | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    workdays: Mapped[int | None] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    order: Mapped[Order] = relationship(back_populates="pauses")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])

    __table_args__ = (
        sa.CheckConstraint("(state = 'pending') = (decided_at IS NULL)", name="decided_has_time"),
        sa.CheckConstraint("state = 'approved' OR started_at IS NULL", name="started_when_approved"),
        sa.CheckConstraint("ended_at IS NULL OR started_at IS NOT NULL", name="ended_after_start"),
    )

    @property
    def running(self) -> bool:
        return self.state is ExtensionState.APPROVED and self.ended_at is None
