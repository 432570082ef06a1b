"""Slowing down guessing (access codes, passwords, second-factor codes) with atomic counters.

A try is counted *before* the secret is checked: one conditional upsert per key
(``INSERT … ON CONFLICT DO UPDATE … WHERE failures < max RETURNING``) takes a slot
in the key's window or finds none, so however many requests arrive at once, at
most ``max_failures`` of them are ever evaluated.  A right secret gives its slot
back (``forgive``) or wipes the key (``clear``).  When a full window ends, the
next one is twice as long (up to ``2**max_doublings`` times), so a guesser slows
down; a window that ends below the limit resets the length.

Callers key a limit by (client address, target) and by the address alone, never
by the target alone: failures from one client never lock out another client
that holds the right secret.  Only keyed hashes of the keys are stored.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from caseflow.errors import TooManyAttempts
from caseflow.extensions import db
from caseflow.models import ThrottleCounter
from caseflow.security import crypto
from caseflow.timeutil import utcnow


@dataclass(frozen=True)
class Limit:
    """At most ``max_failures`` tries per key within a window of ``window_seconds`` (doubling after a full one)."""

    scope: str
    max_failures: int
    window_seconds: int
    message: str = "尝试次数过多，请{minutes}分钟后再试。"
    max_doublings: int = 6  # 0: a fixed window (no backoff)


def _hash(scope: str, key: str) -> str:
    return crypto.lookup_hash(f"throttle:{scope}:{key}") or ""


def _hashes(limit: Limit, keys: Iterable[str | None]) -> list[str]:
    return [_hash(limit.scope, k) for k in keys if k]


def _now() -> int:
    return int(utcnow().timestamp())


def _take_slot(limit: Limit, key: str, now: int) -> bool:
    """Count one try against ``key`` if its window has room (one atomic statement); False when full."""
    t: sa.Table = ThrottleCounter.__table__  # type: ignore[assignment]
    base, cap = limit.window_seconds, limit.window_seconds * 2 ** limit.max_doublings
    expired = t.c.window_end <= now
    doubled = sa.case((t.c.span * 2 > cap, cap), else_=t.c.span * 2)
    next_span = sa.case((t.c.failures >= limit.max_failures, doubled), else_=base)
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    upsert = insert(t).values(scope=limit.scope, key=key, failures=1, span=base, window_end=now + base)
    stmt = upsert.on_conflict_do_update(
        index_elements=[t.c.scope, t.c.key],
        set_={"failures": sa.case((expired, 1), else_=t.c.failures + 1),
              "span": sa.case((expired, next_span), else_=t.c.span),
              "window_end": sa.case((expired, now + next_span), else_=t.c.window_end)},
        where=sa.or_(expired, t.c.failures < limit.max_failures),
    ).returning(t.c.failures)
    return db.session.execute(stmt).first() is not None


def attempt(limit: Limit, keys: Iterable[str | None]) -> None:
    """Count this try against every key before the secret is checked; ``TooManyAttempts`` (429, with the
    wait in minutes) when any key's window is full.  The caller rolls back on that refusal (nothing of
    this try stays counted) and commits otherwise, also when the secret was wrong."""
    now = _now()
    hashes = _hashes(limit, keys)
    full = [key for key in hashes if not _take_slot(limit, key, now)]
    if full:
        ends = db.session.scalar(sa.select(sa.func.max(ThrottleCounter.window_end)).where(
            ThrottleCounter.scope == limit.scope, ThrottleCounter.key.in_(full))) or now
        raise TooManyAttempts(limit.message.format(minutes=max(1, math.ceil((ends - now) / 60))))


def forgive(limit: Limit, keys: Iterable[str | None]) -> None:
    """The secret was right: give back the slot this try took on these keys."""
    db.session.execute(sa.update(ThrottleCounter).where(
        ThrottleCounter.scope == limit.scope, ThrottleCounter.key.in_(_hashes(limit, keys)),
        ThrottleCounter.failures > 0).values(failures=ThrottleCounter.failures - 1))


def clear(limit: Limit, keys: Iterable[str | None]) -> None:
    """Forget these keys altogether (the client proved it holds the secret for this target)."""
    db.session.execute(sa.delete(ThrottleCounter).where(ThrottleCounter.scope == limit.scope,
                                                        ThrottleCounter.key.in_(_hashes(limit, keys))))
