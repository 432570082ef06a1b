"""Officials who log in. Citizens have no account."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from caseflow.extensions import Model
from caseflow.models.enums import Role
from caseflow.models.types import Encrypted, UTCDateTime, enum_column, keyed_hash, now_utc
from caseflow.models.units import Unit


class User(UserMixin, Model):
    """An official: a role at one unit."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(60))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # A work phone is personal data too: sealed, found by its keyed hash (kept in step by ``_hash_phone``).
    phone: Mapped[str | None] = mapped_column(Encrypted)
    phone_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped at log-out and password change: every older session becomes invalid.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The TOTP second factor (supervisors and administrators may turn it on): the secret, encrypted, and the
    # last time step a code was accepted for (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(Encrypted)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    unit: Mapped[Unit] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the session carries the version too
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @validates("phone")
    def _hash_phone(self, _key: str, value: str | None) -> str | None:
        self.phone_hash = keyed_hash(value)
        return value

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
