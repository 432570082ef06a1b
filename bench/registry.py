"""Registry benchmark: generate N students per source, import both, look up, check, reconcile.

Run from the repository root (needs the local PostgreSQL; creates and drops its own database):

    .venv/bin/python bench/registry.py --students 1000000

Prints one JSON document with every figure; see the README section "Registry benchmark".
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DBNAME = "caseflow_bench_registry"
AS_OF = date(2026, 9, 30)


def admin_engine():
    from caseflow.config import normalise_database_url

    return sa.create_engine(normalise_database_url(ADMIN), isolation_level="AUTOCOMMIT")


def fresh_database() -> str:
    with admin_engine().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DBNAME}"'))
    return ADMIN.rsplit("/", 1)[0] + "/" + DBNAME


def build_tree(db, cities=10, counties=5, schools=10) -> None:
    """A Henan-like tree: province, cities, counties, schools (500 schools by default)."""
    from caseflow.models import Unit, UnitKind

    root = Unit(code="000000", name="教育部", kind=UnitKind.MINISTRY, path="000000/")
    province = Unit(code="410000", name="河南省教育厅", kind=UnitKind.PROVINCE, parent=root, path="000000/410000/")
    db.session.add_all([root, province])
    n = 0
    for c in range(cities):
        ccode = f"41{c + 1:02d}00"
        city = Unit(code=ccode, name=f"第{c + 1}市教育局", kind=UnitKind.CITY, parent=province,
                    path=province.path + ccode + "/")
        db.session.add(city)
        for k in range(counties):
            kcode = f"41{c + 1:02d}{k + 2:02d}"
            county = Unit(code=kcode, name=f"第{c + 1}市第{k + 1}区教育局", kind=UnitKind.COUNTY, parent=city,
                          path=city.path + kcode + "/")
            db.session.add(county)
            for _ in range(schools):
                n += 1
                scode = f"41{n:08d}"
                db.session.add(Unit(code=scode, name=f"{county.name[:-3]}第{n}学校", kind=UnitKind.SCHOOL,
                                    parent=county, path=county.path + scode + "/"))
    db.session.commit()


def timed_import(env: dict, source: str, path: str) -> dict:
    """Run the CLI import in a child process: wall time, rows/s and the child's peak memory."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "caseflow", "registry", "import", "--source",
                           source, "--as-of", AS_OF.isoformat(), path], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    out = done.stdout
    phases = [line.split(": ", 2)[-1] for line in done.stderr.splitlines() if "registry import" in line]
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    summary = json.loads(out.strip().splitlines()[-1])
    return {"seconds": round(seconds, 2), "rows": summary["rows"], "imported": summary["imported"],
            "rejected": summary["rejected"], "rows_per_s": round(summary["rows"] / seconds),
            "peak_rss_mb": round(max(peak, before) / 1024, 1), "phases": phases,
            # Python CPU of the import and its workers (not PostgreSQL's): a load-independent figure.
            "python_cpu_s": round(cpu, 1), "rows_per_python_cpu_s": round(summary["rows"] / cpu),
            "load_average_1m": round(os.getloadavg()[0], 1)}


def checkpoint(db) -> None:
    """Write out the dirty pages of what came before, so that the next measure starts from the same state."""
    with db.engine.connect() as conn:
        conn.execute(sa.text("CHECKPOINT"))
        conn.commit()


def bare_copy(db, path: str) -> float:
    """The floor: the same file into an unindexed table of text columns with plain COPY."""
    with db.engine.connect() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_bare"))
        conn.execute(sa.text("CREATE TABLE bench_bare (" + ", ".join(f"c{i} text" for i in range(14)) + ")"))
        conn.commit()
        raw = conn.connection.driver_connection
        start = time.perf_counter()
        with raw.cursor() as cur, cur.copy("COPY bench_bare FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        raw.commit()
        seconds = time.perf_counter() - start
        conn.execute(sa.text("DROP TABLE bench_bare"))
        conn.commit()
    return seconds


def sample_queries(path: str, n: int, seed: int) -> list[dict]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.reader(fh)][1:]
    rng = random.Random(seed)
    picks = [r for r in rng.sample(rows, min(len(rows), n * 2)) if r[5] and r[0] not in ("错号", "错校", "错态")][:n]
    return picks


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def lookups(picks: list[list]) -> dict:
    """10,000 lookups of each kind through the real operation (audit row and commit included)."""
    from caseflow.extensions import db
    from caseflow.registry.lookup import lookup, parse_query

    kinds = {
        "id_number": lambda r: parse_query(id_number=r[5]),
        "registry_no": lambda r: parse_query(registry_no=r[6]),
        "name_birth": lambda r: parse_query(name=r[0], birth_date=r[2]),
    }
    result = {}
    for kind, make in kinds.items():
        times, committed, found = [], [], 0
        for r in picks:
            query = make(r)
            start = time.perf_counter()
            res = lookup(None, query, reason="bench")
            db.session.flush()  # the audit row is written
            mid = time.perf_counter()
            db.session.commit()  # the request boundary: durable audit row (fsync)
            end = time.perf_counter()
            times.append((mid - start) * 1000)
            committed.append((end - start) * 1000)
            found += bool(res.records)
        result[kind] = {"n": len(times), "found": found, "p50_ms": round(statistics.median(times), 2),
                        "p99_ms": round(percentile(times, 99), 2),
                        "with_commit_p50_ms": round(statistics.median(committed), 2),
                        "with_commit_p99_ms": round(percentile(committed, 99), 2)}
    return result


def bare_join(db, ids: dict, *, through_parent: bool = False) -> float:
    """The floor for the comparison: one bare full outer join of the two snapshots.

    Written against the two partitions (how a DBA would write it, with their statistics); the variant
    through the partitioned parent is also reported, where the planner lacks statistics.
    """
    if through_parent:
        a = "(SELECT * FROM registry_records WHERE import_id = :n) a"
        b = "(SELECT * FROM registry_records WHERE import_id = :p) b"
    else:
        a, b = f"registry_records_{int(ids['n'])} a", f"registry_records_{int(ids['p'])} b"
    sql = (f"SELECT count(*) FROM {a} FULL JOIN {b} "
           "ON a.registry_key = b.registry_key "
           "WHERE a.registry_key IS NULL OR b.registry_key IS NULL OR a.name IS DISTINCT FROM b.name "
           "OR a.sex IS DISTINCT FROM b.sex OR a.birth_date IS DISTINCT FROM b.birth_date "
           "OR a.id_key IS DISTINCT FROM b.id_key OR a.school_code IS DISTINCT FROM b.school_code "
           "OR a.status IS DISTINCT FROM b.status")
    start = time.perf_counter()
    db.session.execute(sa.text(sql), ids).scalar()
    db.session.rollback()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="Times each import, floor and check is measured (medians are reported).")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    args = parser.parse_args()

    url = fresh_database()
    workdir = Path(tempfile.mkdtemp(prefix="caseflow-bench-"))
    env = dict(os.environ, DATABASE_URL=url, CASEFLOW_INSTANCE_DIR=str(workdir))
    env.pop("REDIS_URL", None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "CASEFLOW_INSTANCE_DIR")})
    os.environ.pop("REDIS_URL", None)
    from flask_migrate import upgrade

    from caseflow import create_app
    from caseflow.extensions import db

    app = create_app()
    figures: dict = {"students": args.students}
    with app.app_context():
        upgrade()
        build_tree(db)
        from caseflow.registry.generator import demo_schools, generate

        start = time.perf_counter()
        manifest = generate(demo_schools(), args.students, args.seed, workdir / "extracts", as_of=AS_OF)
        figures["generate_s"] = round(time.perf_counter() - start, 2)
        figures["file_mb"] = round(os.path.getsize(manifest["files"]["national"]) / 2**20, 1)
        db.session.remove()

        from caseflow.models import RegistryImport

        # Each measure is taken ``--repeat`` times, interleaved (bare COPY, national, provincial, again ...),
        # each after a CHECKPOINT so that none pays for the dirty pages of the one before; the figures are
        # the medians, with every run listed.  A re-import replaces the snapshot of the same source and date.
        floors, runs = [], {"national": [], "provincial": []}
        for _ in range(args.repeat):
            checkpoint(db)
            floors.append(bare_copy(db, manifest["files"]["national"]))
            for source in ("national", "provincial"):
                checkpoint(db)
                result = timed_import(env, source, manifest["files"][source])
                # The import job itself (started -> active), without the CLI process start.
                imp = db.session.scalars(sa.select(RegistryImport).order_by(RegistryImport.id.desc())).first()
                job = (imp.finished_at - imp.started_at).total_seconds()
                result.update(job_seconds=round(job, 2), job_rows_per_s=round(result["rows"] / job))
                runs[source].append(result)
                db.session.remove()
        floor = statistics.median(floors)
        figures["bare_copy_s"] = round(floor, 2)
        figures["bare_copy_runs_s"] = [round(f, 2) for f in floors]
        for source, results in runs.items():
            seconds = statistics.median(r["seconds"] for r in results)
            job = statistics.median(r["job_seconds"] for r in results)
            rows = results[0]["rows"]
            figures[f"import_{source}"] = {
                "rows": rows, "imported": results[0]["imported"], "rejected": results[0]["rejected"],
                "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds), "job_seconds": round(job, 2),
                "job_rows_per_s": round(rows / job), "x_bare_copy": round(seconds / floor, 2),
                "job_x_bare_copy": round(job / floor, 2),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in results), "runs": results,
            }

        from caseflow.registry.importer import latest_imports
        from caseflow.registry.problems import reconcile, run_check

        picks = sample_queries(manifest["files"]["national"], args.lookups, args.seed)
        figures["lookups"] = lookups(picks)

        imports = latest_imports()
        ids = {"n": imports[next(s for s in imports if s.value == "national")].id,
               "p": imports[next(s for s in imports if s.value == "provincial")].id}
        checks, both, joins = [], [], []
        for _ in range(args.repeat):  # interleaved with the floor, as the imports are
            start = time.perf_counter()
            check = run_check()
            db.session.commit()
            checks.append(time.perf_counter() - start)
            figures["check_counts_match_manifest"] = check.counts == manifest["problems"]
            start = time.perf_counter()
            reconcile(None, "county", fresh=True)  # runs the check itself, then counts per county
            db.session.commit()
            both.append(time.perf_counter() - start)
            joins.append(bare_join(db, ids))
        figures["check_s"] = round(statistics.median(checks), 2)
        figures["check_and_reconcile_s"] = round(statistics.median(both), 2)
        figures["check_and_reconcile_runs_s"] = [round(x, 2) for x in both]
        figures["bare_full_join_s"] = round(statistics.median(joins), 2)
        figures["bare_full_join_runs_s"] = [round(x, 2) for x in joins]
        figures["bare_full_join_through_parent_s"] = round(bare_join(db, ids, through_parent=True), 2)
        figures["check_and_reconcile_x_bare_join"] = round(figures["check_and_reconcile_s"]
                                                           / figures["bare_full_join_s"], 2)
        db.session.remove()
        db.engine.dispose()
    if not args.keep:
        with admin_engine().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)  # the generated extracts (~330 MB for 1M students)
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
