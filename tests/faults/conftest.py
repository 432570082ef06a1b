"""Fixtures for the fault tests: a private Redis the test may stop (workers run through ``tests.workers``)."""
from __future__ import annotations

import pytest

from bench.services import PrivateRedis


@pytest.fixture
def private_redis(app):
    """A private redis-server; the test app's jobs go through it."""
    redis = PrivateRedis().start()
    app.config["REDIS_URL"] = redis.url
    yield redis
    redis.stop()
