"""Column types shared by the models."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from caseflow.security import crypto


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes, stored naive-UTC on SQLite and timestamptz on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; caseflow stores UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Encrypted(TypeDecorator):
    """Personal data (ID numbers, phones) encrypted at the application level."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else crypto.decrypt(value)


def keyed_hash(value: str | None) -> str | None:
    """The keyed lookup hash stored beside an ``Encrypted`` column (``*_hash``), so it can be searched."""
    return crypto.lookup_hash(value)


def enum_column(enum_cls: type[enum.Enum], **kw) -> sa.Enum:
    """A string-backed enum column with a CHECK constraint listing the allowed values."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        name=kw.pop("name", enum_cls.__name__.lower()),
        validate_strings=True,
        **kw,
    )


def now_utc() -> datetime:
    """Column default: the current UTC time."""
    return datetime.now(UTC)
