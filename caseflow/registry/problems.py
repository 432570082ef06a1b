"""The problem check and the reconciliation reports (seed 000 and seed 004 tables).

The check compares the latest snapshots of the two systems in one full outer
join (present in one only, key fields differing) plus two grouped scans
(one person with several active registries, graduates left in the pool), all
as ``INSERT ... SELECT`` so nothing passes through Python row by row.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caseflow.errors import IllegalTransition
from caseflow.extensions import db
from caseflow.models import (
    ACTIVE_STATUSES,
    Headcount,
    ImportState,
    ProblemKind,
    RegistryImport,
    RegistryProblem,
    RegistryRecord,
    RegistrySource,
    Unit,
    UnitKind,
)
from caseflow.registry.importer import partition_name
from caseflow.registry.lookup import KEY_FIELDS, PRIMARY_FINAL_GRADES
from caseflow.timeutil import utcnow

FIELD_LABELS = {"name": "姓名", "sex": "性别", "birth_date": "出生日期", "id_key": "身份证件号",
                "school_code": "学校", "status": "学籍状态"}
HEADCOUNT_THRESHOLD_KEY = "registry_headcount_threshold"
DEFAULT_THRESHOLD = 0.02


def snapshots(as_of: date | None = None) -> dict[RegistrySource, RegistryImport]:
    """For each source, the active snapshot of the latest date on or before ``as_of``."""
    query = sa.select(RegistryImport).where(RegistryImport.state == ImportState.ACTIVE)
    if as_of is not None:
        query = query.where(RegistryImport.as_of <= as_of)
    result = {}
    for imp in db.session.scalars(query.order_by(RegistryImport.as_of)):
        result[imp.source] = imp
    return result


@dataclass
class CheckResult:
    check_id: str
    counts: dict[str, int]
    snapshots: dict[str, str] = field(default_factory=dict)


CHECK_LOCK = 0x72656743  # the PostgreSQL advisory lock of the problem check ("regC")


def run_check(as_of: date | None = None, within: Unit | None = None) -> CheckResult:
    """Find every data problem in the latest snapshots at schools under ``within`` (the whole tree when None).

    One check at a time (another one running is ``IllegalTransition``).  A problem found again keeps its
    row (its id, its ``check_id`` and ``created_at`` of when it was first found, and its case once filed); one
    found for the first time is added; an open one no longer found goes, a filed one no longer found is marked
    resolved (and opens again if a later check finds it).  Problems outside ``within`` are untouched.
    """
    _lock_check()
    snaps = snapshots(as_of)
    n, p = snaps.get(RegistrySource.NATIONAL), snaps.get(RegistrySource.PROVINCIAL)
    check_id = uuid.uuid4().hex
    if db.engine.dialect.name == "postgresql":
        # Groupings over whole snapshots: memory to hash them in one pass (the sessions run without JIT).
        db.session.execute(sa.text("SET LOCAL work_mem = '128MB'"))
    now = utcnow()
    parts = []
    ids = [imp.id for imp in snaps.values()]
    if ids:
        parts += [_duplicates(check_id, ids, now), _graduate_pool(check_id, ids, now)]
    if n is not None and p is not None:  # the longest part last: the others are written while it runs
        parts.append(_comparison(check_id, n.id, p.id, now))
    found = _found_table()
    _store(parts, found)
    headcounts = _insert_headcounts(check_id, as_of, now, found)
    in_scope = _in_scope(within)
    _merge_with_known(found, in_scope, now)
    counts = dict.fromkeys((k.value for k in ProblemKind if k is not ProblemKind.HEADCOUNT or headcounts), 0)
    for kind, count in db.session.execute(sa.select(found.c.kind, sa.func.count())
                                          .where(in_scope(found)).group_by(found.c.kind)):
        counts[kind] = count
    db.session.execute(sa.text(f"DROP TABLE {found.name}"))
    return CheckResult(check_id, counts, {s.value: imp.as_of.isoformat() for s, imp in snaps.items()})


FOUND = "registry_problems_found"
_FOUND_COLUMNS = ("check_id", "kind", "school_id", "other_school_id", "source", "registry_key", "registry_no_masked",
                  "name", "detail", "created_at")


def _found_table() -> sa.TableClause:
    """This check's problems before they meet the ones on file: a temporary table of this session (no
    index, no WAL), with registry_problems' columns but the id, the case and the resolution."""
    columns = ", ".join(_FOUND_COLUMNS)
    # SQLite runs DDL outside the transaction: a check that failed on this connection may have left it.
    schema = "pg_temp" if db.engine.dialect.name == "postgresql" else "temp"
    db.session.execute(sa.text(f"DROP TABLE IF EXISTS {schema}.{FOUND}"))
    # ``known``: the problem is on file already (set by the merge).
    db.session.execute(sa.text(f"CREATE TEMPORARY TABLE {FOUND} AS SELECT {columns}, "
                               "CAST(NULL AS BOOLEAN) AS known FROM registry_problems WHERE 1 = 0"))
    t = RegistryProblem.__table__
    return sa.table(FOUND, *(sa.column(name, t.c[name].type) for name in _FOUND_COLUMNS),
                    sa.column("known", sa.Boolean))


def _in_scope(within: Unit | None) -> Callable[[sa.TableClause], sa.ColumnElement[bool]]:
    """Whether a problem row is at a school under ``within`` (every row when None)."""
    if within is None:
        return lambda table: sa.true()
    schools = sa.select(Unit.id).where(Unit.path.startswith(within.path, autoescape=True))
    return lambda table: table.c.school_id.in_(schools)


def _lock_check() -> None:
    """Hold the check's lock until the transaction ends, or refuse when another check holds it.

    SQLite allows one writer at a time anyway: a second check waits for the first's transaction.
    """
    if db.engine.dialect.name == "postgresql" and not db.session.scalar(
            sa.select(sa.func.pg_try_advisory_xact_lock(CHECK_LOCK))):
        raise IllegalTransition("另一次学籍问题检查正在进行，请稍后再查看结果。")


def _same_problem(a: sa.FromClause, b: sa.FromClause) -> sa.ColumnElement[bool]:
    """Two rows describe one problem: same kind, schools, registry, name and detail (plain equalities on
    non-null values, so the database can hash-join them)."""
    def same(column: str, empty):
        return sa.func.coalesce(a.c[column], empty) == sa.func.coalesce(b.c[column], empty)

    return sa.and_(a.c.kind == b.c.kind, a.c.school_id == b.c.school_id, a.c.detail == b.c.detail,
                   same("other_school_id", 0), same("registry_key", 0), same("registry_no_masked", ""),
                   same("name", ""))


def _merge_with_known(found: sa.TableClause, in_scope, now) -> None:
    """Reconcile this check's problems (``found``) with the ones on file, in scope: four joins, and only the rows
    that change are written (a problem found again, the common case, is left as it is)."""
    t = RegistryProblem.__table__
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        # Every join below hashes ``found`` (its statistics fresh) and probes registry_problems once.  The
        # planner has no statistics for the COALESCEs of _same_problem and would rather sort both sides by
        # seven columns, the texts through the collation: several times slower.
        db.session.execute(sa.text("SET LOCAL default_statistics_target = 10"))  # the sizes are what matter
        db.session.execute(sa.text(f"ANALYZE {found.name}"))
        merge_joins = db.session.scalar(sa.text("SHOW enable_mergejoin"))
        db.session.execute(sa.text("SET LOCAL enable_mergejoin = off"))
    again = sa.exists().where(_same_problem(found, t))
    # No longer found: an open problem goes, a filed one is marked resolved.
    db.session.execute(t.delete().where(in_scope(t), t.c.case_id.is_(None), ~again))
    db.session.execute(t.update().where(in_scope(t), t.c.case_id.is_not(None), t.c.resolved_at.is_(None), ~again)
                       .values(resolved_at=now))
    # A filed problem that was resolved and is found again opens again.
    db.session.execute(t.update().where(in_scope(t), t.c.resolved_at.is_not(None), again).values(resolved_at=None))
    # Found for the first time: added.
    db.session.execute(found.update().where(_same_problem(found, t)).values(known=True))
    db.session.execute(t.insert().from_select(list(_FOUND_COLUMNS), sa.select(
        *(found.c[name] for name in _FOUND_COLUMNS)).where(in_scope(found), found.c.known.is_(None))))
    if postgres:  # as it was, for the rest of the transaction
        db.session.execute(sa.text("SELECT set_config('enable_mergejoin', :value, true)"), {"value": merge_joins})


def _records(import_id: int) -> sa.FromClause:
    """The rows of one snapshot as a FROM clause: on PostgreSQL its own partition, named directly.

    Through the partitioned parent the planner has no statistics (they live on the partitions) and
    guesses a join of two snapshots at billions of rows; named directly it sees the real counts and
    picks a hash join, several times faster.
    """
    r = RegistryRecord.__table__
    if db.engine.dialect.name == "postgresql":
        return sa.table(partition_name(import_id), *(sa.column(c.name, c.type) for c in r.columns)).alias(
            f"s{int(import_id)}")
    return sa.select(r).where(r.c.import_id == import_id).subquery(f"s{int(import_id)}")


def _comparison(check_id: str, national_id: int, provincial_id: int, now) -> Part:
    """One full outer join on the registry number: only-national, only-provincial, mismatch."""
    a, b = _records(national_id), _records(provincial_id)
    differs = [getattr(a.c, k).is_distinct_from(getattr(b.c, k)) for k in KEY_FIELDS]
    detail = sa.literal("国网与省网不一致：")
    for k, cond in zip(KEY_FIELDS, differs, strict=True):
        detail = detail + sa.case((cond, sa.literal(FIELD_LABELS[k] + " ")), else_=sa.literal(""))
    kind = sa.case(
        (b.c.registry_key.is_(None), sa.literal(ProblemKind.ONLY_NATIONAL.value)),
        (a.c.registry_key.is_(None), sa.literal(ProblemKind.ONLY_PROVINCIAL.value)),
        else_=sa.literal(ProblemKind.MISMATCH.value),
    )
    text = sa.case(
        (b.c.registry_key.is_(None), sa.literal("国网已注册、省网未注册")),
        (a.c.registry_key.is_(None), sa.literal("省网已注册、国网未注册")),
        else_=detail,
    )
    select = sa.select(
        sa.literal(check_id), kind, sa.func.coalesce(a.c.school_id, b.c.school_id),
        sa.case((a.c.registry_key.is_(None), sa.literal(RegistrySource.PROVINCIAL.value)),
                else_=sa.literal(RegistrySource.NATIONAL.value)),
        sa.func.coalesce(a.c.registry_key, b.c.registry_key),
        sa.func.coalesce(a.c.registry_no_masked, b.c.registry_no_masked),
        sa.func.coalesce(a.c.name, b.c.name), text, sa.literal(now, RegistryProblem.created_at.type),
    ).select_from(a.join(b, sa.and_(a.c.registry_key == b.c.registry_key,  # and the masked number: see find()
                                    a.c.registry_no_masked == b.c.registry_no_masked), full=True)).where(
        sa.or_(a.c.registry_key.is_(None), b.c.registry_key.is_(None), *differs))
    return Part(select, ["check_id", "kind", "school_id", "source", "registry_key", "registry_no_masked",
                     "name", "detail", "created_at"])


@dataclass
class Part:
    """The problems of one kind of check: a SELECT of rows for registry_problems, and their columns.

    ``select`` may be a function of a connection that returns it (or None: no rows), for a part that
    must ask the database something first; it then runs in the part's own session.
    """

    select: sa.Select | Callable[[sa.Connection], sa.Select | None]
    columns: list[str]


def _store(parts: list[Part], table: sa.TableClause) -> None:
    """Add the parts' rows to ``table`` (this check's found problems), in this transaction, in the order of
    ``parts``.

    SQLite: one INSERT … SELECT each.  PostgreSQL: the SELECTs run at once, each in a session of its
    own (they only read committed snapshots; a single INSERT … SELECT cannot use a second core), as
    ``COPY (SELECT …) TO STDOUT``, and that text is COPYed in here as soon as the parts before it are in,
    while the slower parts still run: the check still replaces the problems in one transaction.
    """
    if db.engine.dialect.name != "postgresql":
        for part in parts:
            select = part.select(db.session.connection()) if callable(part.select) else part.select
            if select is not None:
                db.session.execute(table.insert().from_select(part.columns, select))
        return
    engine = db.engine

    def fetch(part: Part) -> bytes:
        """The part's rows as COPY text, straight from the server (no row passes through Python)."""
        with engine.connect() as conn:
            conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
            select = part.select(conn) if callable(part.select) else part.select
            if select is None:
                return b""
            compiled = select.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
            params = compiled.construct_params()
            for name, process in compiled._bind_processors.items():  # the types' own conversions, as execute()
                if name in params:
                    params[name] = process(params[name])
            with conn.connection.driver_connection.cursor() as cur, \
                    cur.copy(f"COPY ({compiled.string}) TO STDOUT", params) as copy:
                data = b"".join(bytes(block) for block in copy)
            conn.rollback()
        return data

    raw = db.session.connection().connection.driver_connection
    with ThreadPoolExecutor(len(parts) or 1) as pool:
        for part, future in [(part, pool.submit(fetch, part)) for part in parts]:
            data = future.result()
            if data:
                with raw.cursor() as cur, \
                        cur.copy(f"COPY {table.name} ({', '.join(part.columns)}) FROM STDIN") as copy:
                    copy.write(data)


def _active(t: sa.FromClause | None = None):
    column = RegistryRecord.status if t is None else t.c.status
    return column.in_([s.value for s in ACTIVE_STATUSES])


def _duplicates(check_id: str, import_ids: list[int], now) -> Part:
    """一人多籍: a person (ID number) with several active registries in one system; one problem per person.

    Candidates come from the id_key index alone (an ordered, index-only grouping); only
    the few candidates are then checked for being active.
    """

    tables = [_records(import_id) for import_id in import_ids]  # here: it needs the app, the threads have none

    def select(conn: sa.Connection) -> sa.Select | None:
        parts = []
        postgres = conn.dialect.name == "postgresql"
        for t in tables:
            candidates = (sa.select(t.c.id_key).where(t.c.id_key.is_not(None))
                          .group_by(t.c.id_key).having(sa.func.count() > 1))
            if postgres:
                # Fetched first: the planner cannot know that only a few ID numbers repeat, and would hash
                # the whole snapshot instead of looking the few up in the index.
                found = list(conn.scalars(candidates))
                if not found:
                    continue
                candidate = t.c.id_key == sa.any_(sa.literal(found, postgresql.ARRAY(sa.BigInteger)))
            else:
                candidate = t.c.id_key.in_(candidates)
            parts.append(sa.select(t.c.id_key, sa.func.min(t.c.school_id).label("lo"),
                                   sa.func.max(t.c.school_id).label("hi"),
                                   sa.func.min(t.c.registry_no_masked).label("reg"),
                                   sa.func.min(t.c.name).label("name"))
                         .where(_active(t), candidate)
                         .group_by(t.c.id_key).having(sa.func.count() > 1))
        if not parts:
            return None
        per_source = sa.union_all(*parts).subquery()
        return (sa.select(
            sa.literal(check_id), sa.literal(ProblemKind.DUPLICATE_ACTIVE.value), sa.func.min(per_source.c.lo),
            sa.func.max(per_source.c.hi), sa.func.min(per_source.c.reg), sa.func.min(per_source.c.name),
            sa.literal("同一身份证件号在多所学校有有效学籍"), sa.literal(now, RegistryProblem.created_at.type))
            .group_by(per_source.c.id_key))

    return Part(select, ["check_id", "kind", "school_id", "other_school_id", "registry_no_masked", "name", "detail",
                         "created_at"])


def _graduate_pool(check_id: str, import_ids: list[int], now) -> Part:
    """滞留毕业生库: a primary graduate with no active registry in the same system; one per registry number."""
    parts = []
    for import_id in import_ids:
        t, other = _records(import_id), _records(import_id).alias(f"o{int(import_id)}")
        still = sa.exists().where(_active(other), sa.or_(
            other.c.registry_key == t.c.registry_key,
            sa.and_(t.c.id_key.is_not(None), other.c.id_key == t.c.id_key)))
        parts.append(sa.select(t.c.school_id, t.c.registry_key, t.c.registry_no_masked, t.c.name)
                     .where(t.c.status == "graduated", t.c.grade.in_(PRIMARY_FINAL_GRADES), ~still))
    graduates = sa.union_all(*parts).subquery()
    select = (sa.select(
        sa.literal(check_id), sa.literal(ProblemKind.GRADUATE_POOL.value), sa.func.min(graduates.c.school_id),
        graduates.c.registry_key, sa.func.min(graduates.c.registry_no_masked), sa.func.min(graduates.c.name),
        sa.literal("小学毕业后未在初中注册学籍，滞留毕业生库"), sa.literal(now, RegistryProblem.created_at.type))
        .group_by(graduates.c.registry_key))
    return Part(select, ["check_id", "kind", "school_id", "registry_key", "registry_no_masked", "name", "detail",
                     "created_at"])


# --- reports -------------------------------------------------------------------------------

RECONCILE_COLUMNS = [
    ("provincial_total", "省网学籍总数"), ("national_total", "国网学籍总数"),
    ("only_national", "问题学籍（国网注册，省网无学籍）"), ("only_provincial", "省网有学籍，国网未注册"),
    ("duplicate_active", "一人多籍"), ("mismatch", "两网信息不一致"),
]


@dataclass
class Report:
    """A table: a title, column headings, rows of (label, values...), and a total row."""

    title: str
    headings: list[str]
    rows: list[list]
    total: list | None = None
    flagged: list[bool] = field(default_factory=list)


def _reporting_unit(units: dict[int, Unit], by_code: dict[str, Unit], school: Unit, level: str,
                    within: Unit | None) -> Unit | None:
    """The row a school is counted in: its city, its county, or itself (under ``within``)."""
    if within is not None and not school.path.startswith(within.path):
        return None
    codes = school.ancestor_codes
    if level == "school":
        return school
    # codes: ministry, province, city or direct county, county...
    if len(codes) < 3:
        return None
    first = by_code.get(codes[2])
    if level == "city" or first is None or first.kind is not UnitKind.CITY:
        return first
    return by_code.get(codes[3]) if len(codes) > 3 and by_code[codes[3]].kind is UnitKind.COUNTY else first


def home_province() -> Unit | None:
    """The province this deployment serves (``DEPLOYMENT_PROVINCE``); None when not set or not in the tree.

    Registry snapshots may name schools of other provinces (a transfer from Hebei, say); those are not
    this province's to reconcile.
    """
    from caseflow.cases.operations import deployment_root

    code = deployment_root()
    return db.session.scalars(sa.select(Unit).where(Unit.code == code)).first() if code else None


def reconcile(as_of: date | None = None, level: str = "city", within: Unit | None = None, *,
              fresh: bool = True) -> Report:
    """Seed 000's table: per city/county (or per school under ``within``) totals and problems of both systems.

    ``fresh`` runs the check now; otherwise the last check's problems are counted (pages stay fast).
    Without ``within`` the table covers the deployment's province (``home_province``), as the province's
    page does: the command line and the web ask this one function and get one table.
    """
    within = within or home_province()
    snaps = snapshots(as_of)
    values: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with ThreadPoolExecutor(len(snaps) or 1) as pool:
        # The totals of each snapshot, counted in sessions of their own while the check runs (PostgreSQL).
        totals = {source: (pool.submit(_school_totals, _totals_query(imp.id), db.engine)
                           if db.engine.dialect.name == "postgresql" else None) for source, imp in snaps.items()}
        if fresh:
            check = run_check(as_of)
        else:
            check = CheckResult("", {}, {s.value: imp.as_of.isoformat() for s, imp in snaps.items()})
        for source, imp in snaps.items():
            future = totals[source]
            rows = future.result() if future else db.session.execute(_totals_query(imp.id)).all()
            for school_id, count in rows:
                values[school_id][f"{source.value}_total"] += count
    units = {u.id: u for u in db.session.scalars(sa.select(Unit))}
    by_code = {u.code: u for u in units.values()}
    p = RegistryProblem
    for school_id, kind, count in db.session.execute(
            sa.select(p.school_id, p.kind, sa.func.count()).where(p.resolved_at.is_(None))
            .group_by(p.school_id, p.kind)):
        values[school_id][kind.value] += count
    rows: dict[int, list] = {}
    for school_id, numbers in values.items():
        unit = _reporting_unit(units, by_code, units[school_id], level, within)
        if unit is None:
            continue
        row = rows.setdefault(unit.id, [unit.name] + [0] * len(RECONCILE_COLUMNS))
        for i, (key, _) in enumerate(RECONCILE_COLUMNS, 1):
            row[i] += numbers.get(key, 0)
    ordered = [rows[k] for k in sorted(rows, key=lambda uid: units[uid].code)]
    total = ["合计"] + [sum(row[i] for row in ordered) for i in range(1, len(RECONCILE_COLUMNS) + 1)]
    dates = "，".join(f"{RegistrySource(s).label}{d}" for s, d in check.snapshots.items()) or "无数据"
    heading = {"city": "地市", "county": "县（市、区）", "school": "学校"}[level]
    return Report(f"国网、省网学籍比对情况（数据日期：{dates}）", [heading] + [h for _, h in RECONCILE_COLUMNS],
                  ordered, total)


def _totals_query(import_id: int) -> sa.Select:
    """(school id, active registries) of one snapshot."""
    t = _records(import_id)
    return sa.select(t.c.school_id, sa.func.count()).where(_active(t)).group_by(t.c.school_id)


def _school_totals(query: sa.Select, engine: sa.Engine) -> list[tuple[int, int]]:
    """The rows of a totals query, in a session of its own (a thread, while the check runs)."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def headcount_threshold() -> float:
    """The difference ratio above which a school/grade is flagged (seed 004: 2%); an admin setting."""
    from caseflow.models import Setting

    setting = db.session.get(Setting, HEADCOUNT_THRESHOLD_KEY)
    return float(setting.value) if setting else DEFAULT_THRESHOLD


FLAG_WORD = "超标"  # said in words next to the colour: a flag is never a colour alone


def headcount_row(label: str, counted: int, registered: int, threshold: float) -> tuple[list, bool]:
    """Seed 004: difference = registry − counted; ratio = difference ÷ registry (to three decimals, shown
    as a percentage with one: 0.018 is 1.8%), and the word 超标 when its size is above the threshold."""
    difference = registered - counted
    ratio = round(difference / registered, 3) if registered else 0.0
    flagged = abs(ratio) > threshold
    return [label, counted, registered, difference, f"{ratio:.1%}", FLAG_WORD if flagged else ""], flagged


def _insert_headcounts(check_id: str, as_of: date | None, now, found: sa.TableClause) -> int:
    """人籍分离/空挂学籍: the school grades of the latest headcount day whose difference ratio is flagged, added
    to this check's ``found`` problems."""
    query = sa.select(sa.func.max(Headcount.counted_on))
    if as_of is not None:
        query = query.where(Headcount.counted_on <= as_of)
    day = db.session.scalar(query)
    if day is None:
        return 0
    threshold = headcount_threshold()
    rows = []
    for school, grade, counted, registered in _headcount_lines(day):
        row, flagged = headcount_row(grade, counted, registered, threshold)
        if flagged:
            rows.append({"check_id": check_id, "kind": ProblemKind.HEADCOUNT, "school_id": school.id,
                         "created_at": now,
                         "detail": f"{day.isoformat()}现场核查{grade}：在校{counted}人，学籍{registered}人，"
                                   f"差额{row[3]}人，差额比例{row[4]}"})
    if rows:
        db.session.execute(sa.insert(found), rows)
    return len(rows)


def _headcount_lines(counted_on: date, within: Unit | None = None,
                     source: RegistrySource = RegistrySource.NATIONAL) -> list[tuple[Unit, str, int, int]]:
    """(school, grade, counted on site, active registries in the snapshot) for the headcounts of one day."""
    snap = snapshots(counted_on).get(source)
    h = Headcount
    query = sa.select(h).join(Unit, Unit.id == h.school_id).where(h.counted_on == counted_on)
    if within is not None:
        query = query.where(Unit.path.startswith(within.path, autoescape=True))
    counts = list(db.session.scalars(query.order_by(Unit.code, h.grade)))
    registered: dict[tuple[int, str], int] = defaultdict(int)
    if snap is not None and counts:
        r = RegistryRecord
        for school_id, grade, n in db.session.execute(
                sa.select(r.school_id, r.grade, sa.func.count()).where(
                    r.import_id == snap.id, _active(), r.school_id.in_({c.school_id for c in counts}))
                .group_by(r.school_id, r.grade)):
            registered[(school_id, grade)] += n
    return [(c.school, c.grade, c.counted, registered[(c.school_id, c.grade)]) for c in counts]


def headcount_report(counted_on: date, within: Unit | None = None, source: RegistrySource = RegistrySource.NATIONAL,
                     by_grade: bool = True, threshold: float | None = None) -> Report:
    """Seed 004's table for the headcounts of one day: per school (and grade), flagged above the threshold."""
    threshold = headcount_threshold() if threshold is None else threshold
    grouped: dict[tuple, list[int]] = {}
    for school, grade, counted, registered in _headcount_lines(counted_on, within, source):
        entry = grouped.setdefault((school.name, grade) if by_grade else (school.name,), [0, 0])
        entry[0] += counted
        entry[1] += registered
    rows, flagged = [], []
    for key, (counted, reg) in grouped.items():
        row, flag = headcount_row(" ".join(key), counted, reg, threshold)
        rows.append(row)
        flagged.append(flag)
    total, _ = headcount_row("合计", sum(r[1] for r in rows), sum(r[2] for r in rows), threshold)
    return Report(f"学籍管理数据核查情况表（{counted_on.isoformat()}，差额比例超过{threshold:.0%}标出）",
                  ["学校及年级" if by_grade else "学校", "现场核查学生数", "学籍数据学生数", "差额人数", "差额比例",
                   f"是否超过{threshold:.0%}"],
                  rows, total, flagged)
