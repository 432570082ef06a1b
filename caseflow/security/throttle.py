"""Slowing down guessing (access codes, later passwords) with failure rows in the database.

Only keyed hashes of the keys (case number, client address, user name) are
stored, so the table reveals nothing about who tried what.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from caseflow.errors import TooManyAttempts
from caseflow.extensions import db
from caseflow.models import Attempt
from caseflow.security import crypto
from caseflow.timeutil import utcnow


@dataclass(frozen=True)
class Limit:
    """At most ``max_failures`` failures per key within ``window_seconds``."""

    scope: str
    max_failures: int
    window_seconds: int
    message: str = "尝试次数过多，请{minutes}分钟后再试。"


def _hash(scope: str, key: str) -> str:
    return crypto.lookup_hash(f"throttle:{scope}:{key}") or ""


def _hashes(limit: Limit, keys: Iterable[str | None]) -> list[str]:
    return [_hash(limit.scope, k) for k in keys if k]


def wait_seconds(limit: Limit, keys: Iterable[str | None]) -> int:
    """Seconds until every key is below the limit again (0: go ahead)."""
    now = utcnow()
    since = now - timedelta(seconds=limit.window_seconds)
    wait = 0.0
    for key in _hashes(limit, keys):
        times = db.session.scalars(
            sa.select(Attempt.created_at)
            .where(Attempt.scope == limit.scope, Attempt.key == key, Attempt.created_at >= since)
            .order_by(Attempt.created_at)
        ).all()
        if len(times) >= limit.max_failures:
            # The window must drop enough old failures to leave room for one more try.
            frees_at = times[len(times) - limit.max_failures] + timedelta(seconds=limit.window_seconds)
            wait = max(wait, (frees_at - now).total_seconds())
    return math.ceil(wait)


def check(limit: Limit, keys: Iterable[str | None]) -> None:
    """Raise ``TooManyAttempts`` (429) with the wait in minutes when any key is over the limit."""
    wait = wait_seconds(limit, keys)
    if wait > 0:
        raise TooManyAttempts(limit.message.format(minutes=max(1, math.ceil(wait / 60))))


def record_failure(limit: Limit, keys: Iterable[str | None]) -> None:
    """Count one failure against each key, forgetting failures older than the window."""
    now = utcnow()
    hashes = _hashes(limit, keys)
    db.session.execute(sa.delete(Attempt).where(
        Attempt.scope == limit.scope, Attempt.key.in_(hashes),
        Attempt.created_at < now - timedelta(seconds=limit.window_seconds),
    ))
    db.session.add_all(Attempt(scope=limit.scope, key=key, created_at=now) for key in hashes)
    db.session.flush()


def clear(limit: Limit, keys: Iterable[str | None]) -> None:
    """Forget the failures of these keys (e.g. a user name after a successful log-in)."""
    db.session.execute(sa.delete(Attempt).where(Attempt.scope == limit.scope,
                                                Attempt.key.in_(_hashes(limit, keys))))
