"""Bulk import of a registry extract as the snapshot of (source, as_of).

Rows are read in chunks, validated and encoded (``batch``; in worker processes
for big files, ``parallel``) and bulk-loaded.  On PostgreSQL they are COPYed
into a table of their own that is committed unattached, indexed, then attached
as the import's partition in the transaction that marks the import active and
the previous one for (source, as_of) replaced; on SQLite they are inserted in
that one transaction.  Readers therefore see the old snapshot or the new one,
never half of one; a failed or killed load leaves the old one and its own table
is dropped.  Progress goes to the import's row through a second connection so
the UI can read it.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app

from caseflow import exports
from caseflow.extensions import db
from caseflow.models import ImportState, RegistryImport, RegistryRecord, RegistrySource, Unit, UnitKind, User
from caseflow.registry.extract import (
    Extract,
    RegistryImportRefused,
    XlsxLimits,
    check_xlsx_container,
    open_extract,
)
from caseflow.security import crypto
from caseflow.timeutil import utcnow

if TYPE_CHECKING:  # Polars is imported by the import itself, not by every process that loads the app
    import polars as pl

    from caseflow.registry import batch, parallel

log = logging.getLogger(__name__)
BATCH = 5000
LOCK_KEY = 7407  # advisory-lock namespace of registry imports
PROGRESS_SECONDS = 0.5


@dataclass
class Progress:
    """Where an import stands, for the CLI lines and the page."""

    rows_done: int
    rows_total: int | None
    rate: float
    eta_seconds: float | None

    def line(self) -> str:
        """One line for the import list and the command line: 已处理 1200/约5000 行，每秒 800 行，约还需 5 秒."""
        total = f"/约{self.rows_total}" if self.rows_total else ""
        eta = f"，约还需 {self.eta_seconds:.0f} 秒" if self.eta_seconds is not None else ""
        return f"已处理 {self.rows_done}{total} 行，每秒 {self.rate:,.0f} 行{eta}"


def progress_of(imp: RegistryImport) -> Progress:
    """Rows done / estimated total, rate and ETA, from the import's progress row."""
    elapsed = ((imp.finished_at or utcnow()) - imp.started_at).total_seconds() if imp.started_at else 0
    rate = imp.rows_done / elapsed if elapsed > 0 else 0.0
    total = None
    if imp.state is ImportState.ACTIVE:
        total = imp.rows_done
    elif imp.bytes_done and imp.file_bytes:
        total = max(imp.rows_done, round(imp.rows_done * imp.file_bytes / imp.bytes_done))
    eta = (total - imp.rows_done) / rate if total and rate else None
    return Progress(imp.rows_done, total, rate, eta)


def create_import(source: RegistrySource, as_of: date, path: str | Path, *, file_name: str | None = None,
                  user: User | None = None) -> RegistryImport:
    """Record an import to run (the progress row); the caller commits, then runs or enqueues it."""
    path = Path(path)
    imp = RegistryImport(source=source, as_of=as_of, file_name=file_name or path.name, file_path=str(path),
                         file_bytes=path.stat().st_size if path.exists() else 0,
                         created_by_id=user.id if user else None, state=ImportState.QUEUED)
    db.session.add(imp)
    db.session.flush()
    return imp


def _private_dir(name: str) -> Path:
    """``instance/registry/<name>``, readable by this user only (0700): it holds children's data."""
    path = Path(current_app.instance_path) / "registry" / name
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def upload_dir() -> Path:
    """Where uploaded extracts wait for their import; each is deleted when its import ends."""
    return _private_dir("uploads")


def reject_dir() -> Path:
    """Where reject reports are kept (0600 each) until they expire (``REJECT_REPORT_DAYS``)."""
    return _private_dir("rejects")


def private_file(path: Path) -> int:
    """A file descriptor of ``path`` opened for writing, created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    return fd


def discard_upload(imp: RegistryImport) -> bool:
    """Delete the import's uploaded extract (never a file the command line named elsewhere)."""
    if not imp.file_path:
        return False
    path = Path(imp.file_path)
    if path.parent.resolve() != upload_dir().resolve() or not path.exists():
        return False
    path.unlink(missing_ok=True)
    return True


def expire_files(now: datetime | None = None) -> dict[str, int]:
    """Delete reject reports older than ``REJECT_REPORT_DAYS`` and any upload whose import has ended.

    Run by the worker's schedule and ``flask registry cleanup``; the caller commits.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["REJECT_REPORT_DAYS"])
    ended = sa.not_(RegistryImport.state.in_([ImportState.QUEUED, ImportState.LOADING]))
    reports = db.session.scalars(sa.select(RegistryImport).where(
        RegistryImport.reject_report.is_not(None), RegistryImport.finished_at < cutoff)).all()
    for imp in reports:
        Path(imp.reject_report or "").unlink(missing_ok=True)
        imp.reject_report = None
    uploads = sum(discard_upload(imp) for imp in db.session.scalars(sa.select(RegistryImport).where(
        ended, RegistryImport.file_path.is_not(None))))
    db.session.flush()
    return {"reject_reports": len(reports), "uploads": uploads}


def _schools() -> dict[str, int]:
    return dict(db.session.execute(sa.select(Unit.code, Unit.id).where(Unit.kind == UnitKind.SCHOOL)).all())


def partition_name(import_id: int) -> str:
    return f"registry_records_{int(import_id)}"


def _drop_partition(import_id: int) -> sa.TextClause:
    """The statement dropping an import's rows on PostgreSQL: its table, attached or not."""
    return sa.text(f"DROP TABLE IF EXISTS {partition_name(import_id)}")


def _workers(imp: RegistryImport, schools: dict[str, int], today: date) -> parallel.Workers | None:
    """Worker processes for a big file on PostgreSQL, started now: they spawn while the file is opened."""
    from caseflow.registry import parallel

    config = current_app.config
    count = int(config.get("REGISTRY_IMPORT_WORKERS") or min(2, os.cpu_count() or 1))
    try:
        big = Path(imp.file_path).stat().st_size >= int(config.get("REGISTRY_PARALLEL_MIN_BYTES", 8 << 20))
    except OSError:
        return None  # open_extract refuses it
    if count < 2 or not big:
        return None
    return parallel.Workers(count, crypto.keyring().settings, schools, today, imp.id)


def _encoded(path: Path, extract: Extract, ctx: batch.Context, workers: parallel.Workers | None, *,
             postgres: bool) -> Iterator[tuple[bytes | pl.DataFrame, list[list], int, int]]:
    """(rows to store, rejects, records read, file position) piece by piece, in file order.

    CSV is cut into chunks of whole records while it can be (``parallel.encode_csv``) and encoded
    column-wise; XLSX rows come from the spreadsheet reader in batches.  On PostgreSQL the rows are COPY
    text, encoded in the ``workers`` when there are any.
    """
    from caseflow.registry import parallel

    def finish(encoded: batch.Encoded) -> bytes | pl.DataFrame:
        return encoded.copy_text() if postgres else encoded.frame

    if extract.encoding is None:  # XLSX
        rows = iter(extract.rows)
        batches = ((records, extract.position()) for records in iter(lambda: list(itertools.islice(rows, BATCH)), []))
        yield from parallel.encode_records(batches, ctx, workers=workers, finish=finish)
        return
    extract.close()
    chunk_bytes = int(current_app.config.get("REGISTRY_CHUNK_BYTES", 2 << 20))
    yield from parallel.encode_csv(path, extract.encoding, ctx, chunk_bytes=chunk_bytes,
                                   batch_size=BATCH, workers=workers, finish=finish)


def _load_postgres(conn: sa.Connection, imp: RegistryImport, chunks, tally) -> str:
    """COPY the rows into a new table of their own and commit it, unattached (readers never see it).

    The table carries the partition's CHECK from the start, so attaching it later needs no scan.  FREEZE:
    the table is new in this transaction, so its rows are stored frozen and all-visible (no VACUUM).
    """
    from caseflow.registry.batch import COPY_COLUMNS

    part = partition_name(imp.id)
    conn.execute(sa.text(f"CREATE TABLE {part} (LIKE registry_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
                         f"CONSTRAINT {part}_import CHECK (import_id = {int(imp.id)}))"))
    # The import's id is the column's default while the rows are copied (one field less to send and parse a row).
    conn.execute(sa.text(f"ALTER TABLE {part} ALTER COLUMN import_id SET DEFAULT {int(imp.id)}"))
    raw = conn.connection.driver_connection
    copy_sql = f"COPY {part} ({', '.join(COPY_COLUMNS)}) FROM STDIN WITH (FREEZE)"
    # closing(): on an error the chunk generator, and the worker pool inside it, end here and now.
    with raw.cursor() as cur, cur.copy(copy_sql) as copy, contextlib.closing(chunks):
        for payload, rejected, rows, position in chunks:
            if payload:
                copy.write(payload)
            tally(rejected, rows, position)
    conn.execute(sa.text(f"ALTER TABLE {part} ALTER COLUMN import_id DROP DEFAULT"))
    conn.commit()
    return part


def _index_postgres(imp_id: int, part: str, rejects) -> int:
    """Build the partition's indexes at once, one session each; returns the repeats rejected.

    The registry-number index is UNIQUE: when its build succeeds (every clean file) there is nothing to
    search for; when it fails the later repeats are deleted and it is built again.  The others are built
    without deduplication: a partition is never written after its import, and merging the few equal keys
    cost a sixth of their build to save 1 MB a million rows.
    """
    engine = db.engine

    def build(index: sa.Index) -> bool:
        columns = ", ".join(c.name for c in index.columns)
        options = "" if index.unique else " WITH (deduplicate_items = off)"
        with engine.connect() as conn:
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
            try:
                conn.execute(sa.text(f"CREATE {'UNIQUE ' if index.unique else ''}INDEX ON {part} ({columns}){options}"))
            except sa.exc.IntegrityError:
                conn.rollback()
                return False
            conn.commit()
        return True

    indexes = list(RegistryRecord.__table__.indexes)
    with ThreadPoolExecutor(len(indexes)) as pool:
        built = dict(zip(indexes, pool.map(build, indexes), strict=True))
    repeats = 0
    for index, ok in built.items():
        if not ok:
            with engine.connect() as conn:
                repeats += _drop_repeats(conn, imp_id, part, rejects)
                conn.commit()
            if not build(index):
                raise RuntimeError(f"registry import {imp_id}: {index.name} still not unique")
    return repeats


def _drop_repeats(conn: sa.Connection, imp_id: int, table: str, rejects) -> int:
    """A registry number twice in one file: keep the first line, reject the later ones."""
    repeats = conn.execute(sa.text(
        f"WITH d AS (SELECT registry_key FROM {table} WHERE import_id = :i "
        "GROUP BY registry_key HAVING count(*) > 1) "
        "SELECT r.line_no, r.registry_no_masked, r.name, "
        "r.line_no > min(r.line_no) OVER (PARTITION BY r.registry_key) AS later "
        f"FROM {table} r JOIN d ON d.registry_key = r.registry_key WHERE r.import_id = :i "
        "ORDER BY r.line_no"), {"i": imp_id}).all()
    later = [r for r in repeats if r.later]
    for r in later:
        rejects.writerow([r.line_no, r.registry_no_masked, r.name, REPEAT_REASON])
    for start in range(0, len(later), 1000):
        lines = [r.line_no for r in later[start:start + 1000]]
        conn.execute(sa.text(f"DELETE FROM {table} WHERE import_id = :i AND line_no IN ({', '.join(map(str, lines))})"),
                     {"i": imp_id})
    return len(later)


REPEAT_REASON = "学籍号在本文件中重复出现（保留第一次出现的行）"


def _first_of_each(frame: pl.DataFrame, seen: set[int], rejects) -> tuple[pl.DataFrame, int]:
    """SQLite (small files): drop rows whose registry number came earlier in the file, as rejects."""
    import polars as pl

    keep = []
    repeats = 0
    for line_no, key, masked, name in frame.select("line_no", "registry_key", "registry_no_masked",
                                                      "name").iter_rows():
        if key in seen:
            rejects.writerow([line_no, masked, name, REPEAT_REASON])
            repeats += 1
            keep.append(False)
        else:
            seen.add(key)
            keep.append(True)
    return (frame.filter(pl.Series(keep)) if repeats else frame), repeats


def run_import(import_id: int, *, on_progress: Callable[[Progress], None] | None = None) -> dict:
    """Run a recorded import to the end; returns the summary. Refusal raises ``RegistryImportRefused``."""
    imp = db.session.get(RegistryImport, import_id)
    if imp is None or imp.state not in (ImportState.QUEUED, ImportState.LOADING):
        raise ValueError(f"import {import_id} is not waiting to run")
    imp.state, imp.started_at = ImportState.LOADING, utcnow()
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    schools, today = _schools(), date.today()
    workers = _workers(imp, schools, today) if postgres else None
    try:
        return _run(imp, schools, today, workers, postgres=postgres, on_progress=on_progress)
    finally:
        if workers is not None:
            workers.close()
        # Success, refusal or failure: the extract is not kept (its reject report holds what is needed).
        discard_upload(db.session.get(RegistryImport, import_id) or imp)


def _run(imp: RegistryImport, schools: dict[str, int], today: date, workers: parallel.Workers | None, *,
         postgres: bool, on_progress: Callable[[Progress], None] | None) -> dict:
    import_id = imp.id
    try:
        extract = open_extract(imp.file_path, XlsxLimits.from_config(current_app.config))
    except RegistryImportRefused as exc:
        imp.state, imp.error, imp.finished_at = ImportState.REFUSED, exc.message, utcnow()
        db.session.commit()
        raise
    from caseflow.registry import batch

    ctx = batch.Context(extract.columns, schools, today, imp.id, crypto.keyring())
    path = Path(imp.file_path)
    report_path = reject_dir() / f"import-{imp.id}-rejects.csv"
    counts = {"rows": 0, "rejected": 0}
    insert = sa.insert(RegistryRecord.__table__)
    last = [time.monotonic()]
    active = False

    def tally(rejected: list[list], rows: int, position: int) -> None:
        """Count a chunk, write its rejects, and report progress at most every PROGRESS_SECONDS."""
        writer.writerows(rejected)
        counts["rows"] += rows
        counts["rejected"] += len(rejected)
        if time.monotonic() - last[0] < PROGRESS_SECONDS:
            return
        last[0] = time.monotonic()
        imp.rows_done, imp.rows_rejected, imp.bytes_done = counts["rows"], counts["rejected"], position
        if postgres:  # SQLite: the data transaction holds the only write lock; progress stays in memory
            db.session.commit()
        if on_progress:
            on_progress(progress_of(imp))

    try:
        with open(private_file(report_path), "w", newline="", encoding="utf-8-sig") as report, \
                db.engine.connect() as conn:
            writer = exports.SafeWriter(report)
            writer.writerow(["行号", "学籍号", "姓名", "拒绝原因"])
            phases = [time.monotonic()]
            if postgres:
                # Held by this session until the end: tells `reap_dead_imports` the loader is alive.
                conn.execute(sa.text("SELECT pg_advisory_lock(:k, :i)"), {"k": LOCK_KEY, "i": imp.id})
                conn.commit()
                try:
                    part = _load_postgres(conn, imp, _encoded(path, extract, ctx, workers, postgres=True), tally)
                    phases.append(time.monotonic())
                    counts["rejected"] += _index_postgres(imp.id, part, writer)
                    phases.append(time.monotonic())
                    # A smaller sample than the default: the plans need the row count and the distinct
                    # counts, which 9,000 rows estimate well; a full default ANALYZE costs a tenth of the import.
                    conn.execute(sa.text("SET LOCAL default_statistics_target = 30"))
                    conn.execute(sa.text(f"ANALYZE {part}"))
                    conn.execute(sa.text(f"ALTER TABLE registry_records ATTACH PARTITION {part} "
                                         f"FOR VALUES IN ({int(imp.id)})"))
                    report.close()  # written out before the switch: nothing after it may fail the import
                    _activate(conn, imp, counts, report_path)
                    active = True
                finally:
                    _unlock(conn, imp.id)
            else:
                seen: set[int] = set()
                for frame, rejected, rows, position in _encoded(path, extract, ctx, None, postgres=False):
                    tally(rejected, rows, position)
                    frame, repeats = _first_of_each(frame, seen, writer)
                    counts["rejected"] += repeats
                    if frame.height:
                        conn.execute(insert, frame.to_dicts())
                phases += [time.monotonic()] * 2
                report.close()
                _activate(conn, imp, counts, report_path)
                active = True
            log.info("registry import %s: load %.1f s, index %.1f s, analyze+attach %.1f s", imp.id,
                     *(b - a for a, b in zip(phases, [*phases[1:], time.monotonic()], strict=True)))
    except Exception as exc:
        extract.close()
        db.session.rollback()
        if active:  # the new snapshot is live: a late error (logging, say) must not undo it
            log.exception("registry import %s: error after the switch", import_id)
            raise
        if postgres:  # the unattached table of a failed load; never part of registry_records
            with db.engine.connect() as conn:
                conn.execute(_drop_partition(import_id))
                conn.commit()
        imp = db.session.get(RegistryImport, import_id)
        imp.state, imp.finished_at = ImportState.FAILED, utcnow()
        imp.error = _failure_message(exc)
        db.session.commit()
        raise
    extract.close()
    db.session.expire_all()
    purge_replaced()
    summary = {"rows": counts["rows"], "imported": counts["rows"] - counts["rejected"],
               "rejected": counts["rejected"], "reject_report": str(report_path)}
    if on_progress:
        on_progress(progress_of(db.session.get(RegistryImport, import_id)))
    return summary


def _activate(conn: sa.Connection, imp: RegistryImport, counts: dict, report_path: Path) -> None:
    """In one transaction with the rows: the import becomes the snapshot, the previous one is replaced."""
    t = RegistryImport.__table__
    conn.execute(t.update().where(t.c.source == imp.source.value, t.c.as_of == imp.as_of,
                                  t.c.state == ImportState.ACTIVE.value).values(state=ImportState.REPLACED.value))
    conn.execute(t.update().where(t.c.id == imp.id).values(
        state=ImportState.ACTIVE.value, rows_done=counts["rows"], rows_imported=counts["rows"] - counts["rejected"],
        rows_rejected=counts["rejected"], bytes_done=imp.file_bytes, reject_report=str(report_path),
        finished_at=utcnow(), error=None))
    conn.commit()


def _unlock(conn: sa.Connection, imp_id: int) -> None:
    try:
        conn.rollback()
        conn.execute(sa.text("SELECT pg_advisory_unlock(:k, :i)"), {"k": LOCK_KEY, "i": imp_id})
        conn.commit()
    except sa.exc.DBAPIError:  # a broken connection is closed, and its session lock with it
        log.warning("registry import %s: advisory lock not released explicitly", imp_id)


def _failure_message(exc: Exception) -> str:
    from caseflow.registry.parallel import ChunkUndecodable

    if isinstance(exc, RegistryImportRefused):  # found while reading (an XLSX past its row limit)
        return f"导入失败，原有数据未改变：{exc.message}"
    if isinstance(exc, ChunkUndecodable):
        return (f"导入失败，原有数据未改变：文件第{exc.first_line}行之后有不是{_ENCODING_NAMES.get(exc.encoding, exc.encoding)}"
                "编码的内容，请将整个文件另存为UTF-8或GBK编码的CSV后重新导入。")
    return f"导入失败，原有数据未改变：{type(exc).__name__}: {exc}"[:2000]


_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "gb18030": "GBK（GB18030）"}


def purge_replaced() -> int:
    """Drop the rows of replaced snapshots (after the switch, so readers never miss data)."""
    t = RegistryImport.__table__
    ids = [i for (i,) in db.session.execute(sa.select(t.c.id).where(t.c.state.in_(
        [ImportState.REPLACED.value, ImportState.FAILED.value])))]
    if not ids:
        return 0
    if db.engine.dialect.name == "postgresql":
        for imp_id in ids:
            db.session.execute(_drop_partition(imp_id))
    else:
        db.session.execute(sa.delete(RegistryRecord.__table__).where(RegistryRecord.import_id.in_(ids)))
    db.session.commit()
    return len(ids)


def reap_dead_imports() -> int:
    """Mark as failed the imports left 'loading' by a killed process (PostgreSQL: its lock is gone)."""
    if db.engine.dialect.name != "postgresql":
        return 0
    loading = db.session.scalars(sa.select(RegistryImport).where(RegistryImport.state == ImportState.LOADING)).all()
    dead = 0
    for imp in loading:
        if imp.started_at and (utcnow() - imp.started_at).total_seconds() < 30:
            continue
        free = db.session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_KEY, imp.id)))
        if free:
            imp.state, imp.finished_at = ImportState.FAILED, utcnow()
            imp.error = "导入进程已中断，原有数据未改变，请重新导入。"
            # Its rows, if any were committed, sit in a table that was never attached.
            db.session.execute(_drop_partition(imp.id))
            discard_upload(imp)
            dead += 1
    db.session.commit()
    return dead


def latest_imports() -> dict[RegistrySource, RegistryImport]:
    """The newest active snapshot of each source."""
    result: dict[RegistrySource, RegistryImport] = {}
    for imp in db.session.scalars(sa.select(RegistryImport).where(RegistryImport.state == ImportState.ACTIVE)
                                  .order_by(RegistryImport.as_of)):
        result[imp.source] = imp
    return result


def accept_upload(upload, source: RegistrySource, as_of: date, user: User) -> RegistryImport:
    """Store an uploaded extract and record its import; an unusable file is refused here, before any row."""
    import uuid

    name = Path(upload.filename or "extract").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise RegistryImportRefused("只能导入CSV或XLSX文件。")
    path = upload_dir() / f"{uuid.uuid4().hex}{suffix}"
    with open(private_file(path), "wb") as stored:
        upload.save(stored)
    try:
        if suffix == ".xlsx":  # the zip's directory only: its XML is read by the worker, within limits
            check_xlsx_container(path, XlsxLimits.from_config(current_app.config))
        else:
            open_extract(path).close()  # the header line
    except RegistryImportRefused:
        path.unlink(missing_ok=True)
        raise
    return create_import(source, as_of, path, file_name=name, user=user)


def recent_imports(limit: int = 50) -> list[RegistryImport]:
    """The latest imports, newest first, for the imports page (and the CLI)."""
    reap_dead_imports()
    return list(db.session.scalars(sa.select(RegistryImport).order_by(RegistryImport.id.desc()).limit(limit)))
