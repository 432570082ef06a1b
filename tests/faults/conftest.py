"""Fixtures for the fault tests: a private Redis the test may stop, and RQ workers on it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bench.services import ROOT, PrivateRedis, flask_env


@pytest.fixture
def private_redis(app):
    """A private redis-server; the test app's jobs go through it."""
    redis = PrivateRedis().start()
    app.config["REDIS_URL"] = redis.url
    yield redis
    redis.stop()


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "caseflow", "worker", *args]


@pytest.fixture
def burst_worker(private_redis):
    """``burst_worker()``: a real RQ worker process that runs what is queued, then exits."""

    def _run(timeout: float = 60) -> subprocess.CompletedProcess:
        proc = subprocess.run(worker_command("--burst"), env=flask_env(REDIS_URL=private_redis.url), cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    return _run
