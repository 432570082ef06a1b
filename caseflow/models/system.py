"""Calendar overrides, business settings, the job outbox, throttling records and citizens' sessions."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.extensions import Model
from caseflow.models.types import Encrypted, UTCDateTime, now_utc


class CalendarDay(Model):
    """An administrator's word on one day: a holiday, or a make-up working day (调休)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(100))


class CalendarYear(Model):
    """A year whose holidays an administrator has entered completely: no longer provisional."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Setting(Model):
    """A business setting an administrator may change (deadline days and the like)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255))


class OutboxItem(Model):
    """Work to do after a commit (a notification, a render), written in the same transaction.

    A sweeper re-enqueues items whose job never ran (Redis down, worker killed),
    and the job itself is idempotent, so nothing is lost and nothing is done twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_known"),
    )


class SmsMessage(Model):
    """A text message sent (or logged) to a complainant; the record of delivery."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    phone_hash: Mapped[str | None] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ThrottleCounter(Model):
    """Tries counted against one key (a keyed hash) in its current window, for slowing down guessing.

    Times are Unix seconds so that one conditional upsert can compare and add them on any database.
    """

    __tablename__ = "throttle_counters"

    scope: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int]
    window_end: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    span: Mapped[int]  # the window's length in seconds: doubles after a full window (backoff)


class ReceiptCode(Model):
    """A just-issued access code, sealed, kept briefly for the submission token that created the case.

    A resent or parallel identical submission then shows the same receipt with the code (the case
    itself keeps only a hash of it).  Rows past ``expires_at`` are never read and are deleted.
    """

    __tablename__ = "receipt_codes"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.Text)  # a Keyring token, never the plain code
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CitizenSession(Model):
    """What a citizen's browser may see (its track grants, its last receipt), kept server-side.

    The session cookie carries only a random id; this row is found by the id's hash, and its data
    (which holds an access code) is sealed like other personal data.
    """

    __tablename__ = "citizen_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Encrypted)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
