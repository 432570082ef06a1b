"""Slow request bodies never make the site unresponsive in the production recipe (issue 20, item 22).

scripts/serve.sh runs gunicorn's sync workers behind nginx, which reads each request whole before
gunicorn sees it. Six clients declaring 20 MB bodies and sending a byte a second hold two sync
workers for good when they reach gunicorn directly; through nginx the site answers as usual.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from bench.services import ROOT, flask_env, free_port, port_open, wait_for

SLOW_CLIENTS = 6


def _status(url: str, timeout: float) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except OSError:
        return None


class SlowBodies:
    """Connections that declare a 20 MB form post and then send one byte a second."""

    def __init__(self, port: int):
        self.port, self.stop = port, threading.Event()
        self.socks: list[socket.socket] = []
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowBodies:
        for _ in range(SLOW_CLIENTS):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"POST /complaints/new HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000000\r\n\r\na")
            self.socks.append(s)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for s in self.socks:
                with contextlib.suppress(OSError):
                    s.sendall(b"a")

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


@pytest.fixture
def production(database_url, tmp_path):
    """scripts/serve.sh on free ports: nginx in front of gunicorn's two sync workers."""
    port, app_port = free_port(), free_port()
    env = flask_env(DATABASE_URL=database_url, CASEFLOW_PORT=str(port), CASEFLOW_APP_PORT=str(app_port),
                    CASEFLOW_RUN_DIR=str(tmp_path / "run"), CASEFLOW_WORKERS="2")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(["scripts/serve.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(lambda: proc.poll() is not None or (port_open(port) and _status(f"http://127.0.0.1:{port}/", 5)
                                                      == 200), 90, "nginx and gunicorn to answer")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        yield port, app_port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def test_slow_bodies_do_not_stall_the_site_behind_nginx(production):
    port, app_port = production
    with SlowBodies(port):
        started = time.monotonic()
        answers = []
        while time.monotonic() - started < 8:
            t0 = time.monotonic()
            answers.append((_status(f"http://127.0.0.1:{port}/", timeout=5), time.monotonic() - t0))
        assert all(status == 200 for status, _ in answers), answers
        assert max(seconds for _, seconds in answers) < 3, answers
    # The same clients straight at gunicorn hold both sync workers: this is what nginx prevents.
    with SlowBodies(app_port):
        wait_for(lambda: _status(f"http://127.0.0.1:{app_port}/", timeout=3) is None, 30,
                 "gunicorn's workers to be held by the slow bodies")
