"""A real RQ worker process that runs until a condition holds, then stops: no fixed time limits.

A burst worker with a timeout fails on a busy machine when start-up and the jobs take longer than the
limit.  ``work_until`` starts ``flask worker --no-schedule`` and polls what the test waits for (an
outbox item done, a document stored); when it holds, the worker gets SIGTERM (RQ's warm shutdown: it
finishes the job in hand) and the test goes on.  The deadline is only a safety net for a real hang.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.services import wait_for

ROOT = Path(__file__).resolve().parent.parent
SAFETY_NET_SECONDS = 900  # a hang, not a slow machine


def work_until(redis_url: str, condition: Callable[[], object], what: str) -> str:
    """Run a worker on ``redis_url`` until ``condition()`` is true; return what the worker logged."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=redis_url)
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "caseflow", "worker", "--no-schedule"],
                                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: condition() or proc.poll() is not None, SAFETY_NET_SECONDS, what, interval=0.2)
            assert proc.poll() is None, "the worker exited before " + what
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(SAFETY_NET_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            log.seek(0)
            output = log.read()
    assert proc.returncode in (0, -signal.SIGTERM), output[-3000:]
    return output
