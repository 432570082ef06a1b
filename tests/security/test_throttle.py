"""Each throttle count is one atomic statement: parallel tries never get past the limit."""
from __future__ import annotations

import threading

import pytest

from caseflow.errors import TooManyAttempts
from caseflow.security import throttle

pytestmark = pytest.mark.postgres


def _parallel_attempts(app, limit: throttle.Limit, n: int) -> int:
    """``n`` tries on one key at once, each in its own request transaction; how many were let through."""
    from caseflow.extensions import db, unit_of_work

    barrier, passed = threading.Barrier(n), []

    def one():
        with app.app_context():
            barrier.wait()
            try:
                with unit_of_work():
                    throttle.attempt(limit, ["user:42"])
                passed.append(1)
            except TooManyAttempts:
                pass
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return len(passed)


def test_forty_parallel_tries_pass_exactly_five(app, db):
    assert _parallel_attempts(app, throttle.Limit("t-minute", 5, 60), 40) == 5


def test_the_day_limit_lets_exactly_twenty_through(app, db):
    assert _parallel_attempts(app, throttle.Limit("t-day", 20, 86400, max_doublings=0), 30) == 20
