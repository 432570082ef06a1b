"""Private Redis, PostgreSQL and gunicorn for the fault tests and the load bench.

Stopping or restarting them must never disturb the shared servers other
developers' tests use, so every fault test starts its own on a free loopback
port.  Nothing here skips: a server that cannot start fails the test.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("CASEFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class PrivateRedis:
    """``redis-server`` on a free port; ``stop()`` and ``start()`` again on the same port."""

    def __init__(self, *args: str):
        self.port = free_port()
        self.args = args
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             *self.args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 10, f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class PrivateCluster:
    """A throw-away PostgreSQL cluster (trust auth) in a temp dir, run as the ``postgres`` user."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="caseflow-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def _run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
        proc = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, f"{cmd[0]}: {proc.stdout[-1000:]}{proc.stderr[-2000:]}"
        return proc

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> PrivateCluster:
        shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        return self

    def start(self) -> None:
        self._run(*self._ctl("start", "-w", "-t", "30", "-l", str(self.log)))

    def restart(self) -> None:
        self._run(*self._ctl("restart", "-m", "fast", "-w", "-t", "30", "-l", str(self.log)))

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(*self._ctl("stop", "-m", "immediate", "-w"))

    def _ctl(self, action: str, *args: str) -> list[str]:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                "-c full_page_writes=off -c max_connections=100")
        return [str(PG_BIN / "pg_ctl"), action, "-D", str(self.data), "-o", opts, *args]

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def flask_env(**extra: str) -> dict:
    """The environment for a caseflow subprocess (worker, server, CLI) run from the project root."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra)
    return env


class LiveServer:
    """caseflow under gunicorn on a free loopback port, as in production."""

    def __init__(self, env: dict, workers: int = 2, threads: int = 4, log: Path | None = None, timeout: int = 60):
        self.port = free_port()
        self.env, self.workers, self.threads, self.timeout = env, workers, threads, timeout
        self.proc: subprocess.Popen | None = None
        self.log = log or Path(tempfile.mkstemp(prefix="caseflow-gunicorn-", suffix=".log")[1])

    def start(self) -> LiveServer:
        import sys

        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "--threads", str(self.threads),
                 "-b", f"127.0.0.1:{self.port}", "--timeout", str(self.timeout),
                 # Its own control socket: the default path is shared by every gunicorn of the user.
                 "--control-socket", str(self.log.with_suffix(".ctl")), "caseflow:create_app()"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 60, "gunicorn to listen")
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)
        self.log.with_suffix(".ctl").unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_database(prefix: str):
    """A fresh database on the shared PostgreSQL (PG_ADMIN_URL's server) as DATABASE_URL; dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    from caseflow.config import normalise_database_url

    admin_url = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"{prefix}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    os.environ["DATABASE_URL"] = normalise_database_url(admin_url.rsplit("/", 1)[0] + "/" + name)
    try:
        yield os.environ["DATABASE_URL"]
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def one_branch_tree() -> dict:
    """Ministry > province > city > county > one school, added to the session: code → Unit."""
    from caseflow.extensions import db
    from caseflow.models import Unit, UnitKind

    units: dict = {}
    for code, kind, parent in [("000000", "ministry", None), ("410000", "province", "000000"),
                               ("410100", "city", "410000"), ("410105", "county", "410100"),
                               ("4141000001", "school", "410105")]:
        p = units.get(parent)
        units[code] = Unit(code=code, name=f"单位{code}", kind=UnitKind(kind), parent=p, path=Unit.make_path(p, code))
        db.session.add(units[code])
    return units
