"""Can this machine print the forms? Checks for ``doctor`` and the start-up warning."""
from __future__ import annotations

import ctypes
import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

log = logging.getLogger(__name__)
REQUIRED_FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC")
_HB_SUBSET_NAMES = ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True

    @property
    def status(self) -> str:
        return "ok" if self.ok else ("FAIL" if self.required else "warn")


@lru_cache(maxsize=1)
def cjk_families() -> frozenset[str]:
    """Chinese font families fontconfig knows (one ``fc-list`` per process)."""
    if shutil.which("fc-list") is None:
        return frozenset()
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=20).stdout
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(","))


def fonts_check() -> Check:
    missing = [f for f in REQUIRED_FAMILIES if f not in cjk_families()]
    if missing:
        return Check("CJK fonts", False, f"missing {', '.join(missing)} (apt-get install fonts-noto-cjk)")
    return Check("CJK fonts", True, ", ".join(REQUIRED_FAMILIES))


@lru_cache(maxsize=1)
def harfbuzz_subset_available() -> bool:
    """libharfbuzz-subset can be loaded (a dlopen, no WeasyPrint import)."""
    for name in _HB_SUBSET_NAMES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def harfbuzz_check(*, render: bool = False) -> Check:
    """HarfBuzz subsetting present; with ``render``, prove it on a tiny Chinese PDF."""
    if not harfbuzz_subset_available():
        return Check("HarfBuzz subsetting", False,
                     "libharfbuzz-subset not found: fonts would be embedded whole or slowly "
                     "(apt-get install libharfbuzz-subset0)")
    if not render:
        return Check("HarfBuzz subsetting", True, "libharfbuzz-subset loaded")
    import time

    from caseflow.documents.render import html_to_pdf

    started = time.perf_counter()
    pdf = html_to_pdf('<p style="font-family: \'Noto Serif CJK SC\'">学籍投诉核查单</p>')
    ms = (time.perf_counter() - started) * 1000
    ok = len(pdf.data) < 200_000
    return Check("HarfBuzz subsetting", ok, f"test render {ms:.0f} ms, {len(pdf.data) // 1024} KB"
                 + ("" if ok else " (too large: fonts not subset)"))


def printing_problems() -> list[str]:
    """What stops good PDFs here; cheap and cached, for the start-up warning."""
    return [f"{c.name}: {c.detail}" for c in (fonts_check(), harfbuzz_check()) if not c.ok]


def warn_if_unprintable(logger: logging.Logger | None = None) -> None:
    """Log a clear warning at start-up when the forms cannot be printed properly."""
    for problem in printing_problems():
        (logger or log).warning("PDF forms: %s — run `flask --app caseflow doctor`", problem)


def database_check() -> Check:
    """The database answers and its schema is at the migrations' head."""
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from caseflow.config import PROJECT_ROOT
    from caseflow.extensions import db

    try:
        current = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        db.session.rollback()
        return Check("database", False, f"{db.engine.url.render_as_string(hide_password=True)}: "
                                        f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    heads = set(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())
    where = db.engine.url.render_as_string(hide_password=True)
    if current != heads:
        return Check("database", False, f"{where}: schema at {sorted(current) or 'nothing'}, "
                                        f"migrations head {sorted(heads)} (run `flask --app caseflow db upgrade`)")
    return Check("database", True, f"{where}: reachable, schema at head {', '.join(sorted(heads))}")


def redis_checks() -> list[Check]:
    """Redis reachable and an RQ worker listening, or embedded mode (jobs in-process)."""
    from flask import current_app

    from caseflow.jobs import queue

    if not current_app.config.get("REDIS_URL"):
        return [Check("redis", True, "embedded: no REDIS_URL, jobs run in-process after each commit"),
                Check("RQ workers", True, "not needed in embedded mode")]
    q = queue()
    try:
        q.connection.ping()
    except Exception as exc:  # noqa: BLE001
        return [Check("redis", False, f"unreachable: {type(exc).__name__}"),
                Check("RQ workers", False, "cannot look without Redis")]
    from rq import Worker

    workers = [w for w in Worker.all(connection=q.connection) if q.name in w.queue_names()]
    return [Check("redis", True, f"reachable, queue {q.name!r} has {q.count} waiting job(s)"),
            eviction_check(q.connection),
            Check("RQ workers", bool(workers),
                  f"{len(workers)} worker(s) on {q.name!r}" if workers
                  else f"no worker on {q.name!r}: run `flask --app caseflow worker`")]


def eviction_check(connection) -> Check:
    """Warn when Redis may evict keys: an evicted job or rate-limit counter is silently lost."""
    try:
        policy = connection.config_get("maxmemory-policy").get("maxmemory-policy", "?")
    except Exception as exc:  # noqa: BLE001 - CONFIG may be disabled on managed Redis
        return Check("redis eviction", False, f"cannot read maxmemory-policy ({type(exc).__name__}); "
                     "make sure it is noeviction", required=False)
    if policy != "noeviction":
        return Check("redis eviction", False, f"maxmemory-policy is {policy}: Redis may evict queued jobs; "
                     "set maxmemory-policy noeviction", required=False)
    return Check("redis eviction", True, "maxmemory-policy noeviction")


def calendar_checks(today=None) -> list[Check]:
    """Years whose holidays are known: from chinesecalendar, and confirmed by an administrator."""
    from caseflow.extensions import db
    from caseflow.models import CalendarDay, CalendarYear
    from caseflow.timeutil import local_today
    from caseflow.workdays import package_years

    year = (today or local_today()).year
    package = package_years()
    admin = set(db.session.scalars(db.select(CalendarYear.year)))
    override_years = {d.year for d in db.session.scalars(db.select(CalendarDay.day))}
    db.session.rollback()
    known = set(package) | admin
    admin_text = ", ".join(str(y) for y in sorted(admin)) or "none"
    detail = (f"chinesecalendar {package.start}–{package.stop - 1}; administrator confirmed: {admin_text}"
              + (f"; overrides entered for {', '.join(str(y) for y in sorted(override_years))}"
                 if override_years else ""))
    return [
        Check("calendar this year", year in known, f"{year}: " + ("covered" if year in known else
              "NOT covered — deadlines are provisional (weekends only); enter the holidays in /admin/calendar")
              + f" ({detail})"),
        Check("calendar next year", year + 1 in known, f"{year + 1}: " + (
            "covered" if year + 1 in known else "not yet covered; enter it when the State Council publishes it"),
            required=False),
    ]


def all_checks() -> list[Check]:
    """Every check ``doctor`` prints, in order."""
    checks = [database_check(), *redis_checks(), fonts_check(), harfbuzz_check(render=True)]
    if checks[0].ok:
        checks += calendar_checks()
    return checks
