"""Time helpers: store UTC, show Asia/Shanghai, deadlines by Shanghai calendar day."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def local(dt: datetime) -> datetime:
    """A UTC datetime as Shanghai wall-clock time."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def local_date(dt: datetime) -> date:
    """The Shanghai calendar day an instant falls on (deadlines count from it)."""
    return local(dt).date()


def local_today() -> date:
    """Today in Shanghai."""
    return local_date(utcnow())


def local_midnight(day: date) -> datetime:
    """The instant a Shanghai calendar day begins (received-date filters compare with it)."""
    return datetime.combine(day, time(), SHANGHAI)


def format_date_cn(d: date | datetime | str | None) -> str:
    """2026年11月23日; also for an ISO date kept as text (a JSON snapshot, a lookup's data dates)."""
    if d is None or d == "":
        return ""
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    if isinstance(d, datetime):
        d = local_date(d)
    return f"{d.year}年{d.month}月{d.day}日"


def format_month_cn(month: str | None, *, short: bool = False) -> str:
    """A 'YYYY-MM' month as 2026年11月; ``short`` gives 11月 (a chart's axis, where the year shows once)."""
    if not month:
        return ""
    year, number = month[:4], int(month[5:7])
    return f"{number}月" if short else f"{year}年{number}月"


def format_datetime_cn(dt: datetime | None) -> str:
    """2026年11月23日 14:05 (Shanghai)."""
    if dt is None:
        return ""
    lt = local(dt)
    return f"{lt.year}年{lt.month}月{lt.day}日 {lt:%H:%M}"
