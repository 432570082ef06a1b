"""Integrations (the hotline platform and other systems): API tokens, their webhooks and each delivery."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model
from caseflow.models.system import OutboxItem
from caseflow.models.types import Encrypted, UTCDateTime, now_utc
from caseflow.models.units import Unit
from caseflow.models.users import User


class ApiToken(Model):
    """An integration's access to the API, scoped to one unit.

    It acts as its own service account (``user``: an officer of the unit that cannot log in), so the
    permission rules apply to it unchanged.  Only the SHA-256 of the token is kept; it is shown once.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))  # the first characters, to tell tokens apart
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Webhook(Model):
    """A URL an integration registered: status changes of its unit's cases and orders are POSTed there."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(Encrypted)  # the HMAC-SHA256 key, sealed like personal data
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    token: Mapped[ApiToken] = relationship()


class WebhookDelivery(Model):
    """One status change to send to one webhook; its outbox item carries the tries (attempts, last error)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id"), index=True)
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox.id"), unique=True)
    event: Mapped[str] = mapped_column(sa.String(60))
    body: Mapped[str] = mapped_column(sa.Text)  # the JSON sent, exactly as signed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None]

    webhook: Mapped[Webhook] = relationship()
    outbox: Mapped[OutboxItem] = relationship()
