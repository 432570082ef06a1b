"""Figures that cannot drift: computed only from facts frozen when they happened.

On-time signing and completion, and the working days each step took, are frozen
on the order when it is signed or reported (the days to closing on the ``close``
event); overdue marks and escalations are append-only ``chase_steps``; ratings
are ``rate`` events carrying the rating given.  A later edit, an extension or a
calendar change therefore never rewrites a past month.

The monthly counts (received, closed, on time, overdue, rated, repeats, follow-ups …) are summary rows
per unit, month and metric, rolled up the tree and kept by the transaction that changes a case
(``caseflow.chase.facts``, where each count is defined).  A supervisor's figures are therefore a few
rows of their own unit and of its direct children (province → city → county → school) — a handful of
index reads whatever the number of cases.  What stands *today* (late orders and cases, escalations) is
counted live from the open work, grouped by child in SQL.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from caseflow.chase import facts
from caseflow.chase.queries import escalated, escalated_cases
from caseflow.chase.rates import ThreeRates
from caseflow.deadlines import status
from caseflow.extensions import db
from caseflow.models import (
    Case,
    CaseEvent,
    CaseState,
    ChaseStep,
    Order,
    Unit,
    UnitFacts,
)
from caseflow.sqlfunctions import count_if, sql_function
from caseflow.timeutil import SHANGHAI, local_today

# --- SQL building blocks (PostgreSQL and SQLite) ---------------------------------------------------

# 1-based position of a substring (0 when absent).
strpos = sql_function("strpos", sa.Integer(), "strpos({0}, {1})", "instr({0}, {1})")


def child_code(scope: Unit, path: Any) -> Any:
    """SQL: the code of the scope's direct child that a unit ``path`` lies under (the scope's own code for itself).

    A path is ``000000/410000/410100/``: the child's code is the segment right after the scope's path.
    """
    rest = sa.func.substr(path, len(scope.path) + 1)
    return sa.case((path == scope.path, sa.literal(scope.code)), else_=sa.func.substr(rest, 1, strpos(rest, "/") - 1))


def _within(scope: Unit) -> Any:
    return Unit.path.startswith(scope.path, autoescape=True)


def _by_child(scope: Unit, stmt: sa.Select, unit_id: Any) -> dict[str, dict[str, int]]:
    """Run ``stmt`` (SELECT unit_id, aggregates…) per unit, then summed per direct child of the scope.

    The units' figures are summed first (a few thousand rows), and only they are joined to a small derived
    table of the subtree's units that gives each unit the child it lies below (computed from its path).
    """
    figures = list(stmt.selected_columns)[1:]
    names = [str(c.key) for c in figures]
    per_unit = stmt.group_by(unit_id).subquery()
    units = sa.select(Unit.id, child_code(scope, Unit.path).label("child")).where(_within(scope)).subquery()
    rows = db.session.execute(
        sa.select(units.c.child, *(sa.func.sum(per_unit.c[name]).label(name) for name in names))
        .join(per_unit, list(per_unit.c)[0] == units.c.id).group_by(units.c.child))
    return {row.child: {name: int(row._mapping[name] or 0) for name in names} for row in rows}


def _read(scope: Unit, first: str | None, last: str | None, metrics: list[str], *, by_child: bool,
          by_month: bool = True) -> dict[tuple, dict[str, int]]:
    """Summary rows (``caseflow.chase.facts``) of months ``first``..``last`` ('YYYY-MM', inclusive; None: open).

    Keyed (child code, month), (month,), (child code,) or () as asked; a child's figures count everything below
    it, and the scope's own line (its code) is its total less its children's.
    """
    unknown = set(metrics) - set(facts.metrics())
    if unknown:  # a name that no kind of fact defines would read as zero for ever
        raise ValueError(f"no such summary metric: {sorted(unknown)}")
    cols: list[Any] = [UnitFacts.metric, sa.func.sum(UnitFacts.n).label("n")]
    groups: list[Any] = [UnitFacts.metric]
    if by_month:
        cols.insert(0, UnitFacts.month)
        groups.insert(0, UnitFacts.month)
    stmt = sa.select(*cols).where(UnitFacts.metric.in_(metrics))
    if first:
        stmt = stmt.where(UnitFacts.month >= first)
    if last:
        stmt = stmt.where(UnitFacts.month <= last)
    if by_child:
        own = (Unit.id == scope.id).label("own")
        stmt = (stmt.add_columns(own, Unit.code).join(Unit, Unit.id == UnitFacts.unit_id)
                .where(sa.or_(Unit.id == scope.id, Unit.parent_id == scope.id)))
        groups += [Unit.id, Unit.code]
    else:
        stmt = stmt.where(UnitFacts.unit_id == scope.id)
    found: dict[tuple, dict[str, int]] = {}
    scope_totals: dict[tuple, dict[str, int]] = {}
    for row in db.session.execute(stmt.group_by(*groups)):
        period: tuple = (row.month,) if by_month else ()
        slot = scope_totals.setdefault(period, {}) if by_child and row.own else found.setdefault(
            ((row.code,) if by_child else ()) + period, {})
        slot[row.metric] = int(row.n)
    if by_child:  # the scope's own line: its total less its children's
        for key, figures in list(found.items()):
            mine = scope_totals.setdefault(key[1:], {})
            for name, n in figures.items():
                mine[name] = mine.get(name, 0) - n
        found.update({(scope.code, *key): figures for key, figures in scope_totals.items()})
    return found


# --- the monthly report ----------------------------------------------------------------------------

@dataclass
class Rate:
    """A fraction and its parts (the parts are what a supervisor checks)."""

    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    @property
    def percent(self) -> str:
        return "—" if self.value is None else f"{self.value * 100:.1f}%"


@dataclass
class Row:
    """One unit's line of the monthly report."""

    code: str
    name: str
    received: int = 0
    closed: int = 0
    on_time: int = 0
    overdue: int = 0
    escalated: int = 0
    satisfaction: Rate = field(default_factory=Rate)
    withdrawn: int = 0  # 撤诉: ended by the complainant, never counted as closed (办结)
    repeats: Rate = field(default_factory=Rate)  # 重复投诉率: repeat complaints ÷ complaints received

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "received": self.received, "closed": self.closed,
                "on_time": self.on_time, "overdue": self.overdue, "escalated": self.escalated,
                "rated": self.satisfaction.total, "satisfied": self.satisfaction.hits,
                "satisfaction": self.satisfaction.percent, "withdrawn": self.withdrawn,
                **self.repeat_dict()}

    def repeat_dict(self) -> dict:
        return {"repeats": self.repeats.hits, "complaints": self.repeats.total, "repeat_rate": self.repeats.percent}

    def add(self, figures: dict[str, int]) -> None:
        for key in ("received", "closed", "on_time", "overdue", "escalated", "withdrawn"):
            setattr(self, key, getattr(self, key) + figures.get(key, 0))
        self.satisfaction.hits += figures.get("satisfied", 0)
        self.satisfaction.total += figures.get("rated", 0)
        self.repeats.hits += figures.get("repeats", 0)
        self.repeats.total += figures.get("complaints", 0)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants at which a Shanghai calendar month starts and ends."""
    year, mon = (int(x) for x in month.split("-"))
    start = datetime.combine(date(year, mon, 1), time(), SHANGHAI)
    nxt = date(year + (mon == 12), mon % 12 + 1, 1)
    end = datetime.combine(nxt, time(), SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


MONTHLY = ["received", *facts.metrics("withdrawn", "closings", "reported", "chase")]


def _monthly_facts(scope: Unit, first: str, last: str, *, by_child: bool) -> dict[tuple, dict[str, int]]:
    """The report's counts per (child, month) or per (month,), months ``first``..``last`` (inclusive).

    What each count is (which rows, which unit, which month) is defined once, in ``caseflow.chase.facts``.
    """
    return _read(scope, first, last, MONTHLY, by_child=by_child)


def _children(scope: Unit) -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).where(Unit.parent_id == scope.id).order_by(Unit.code)))


def monthly_rows(scope: Unit, month: str) -> list[Row]:
    """The 通报 table for a month: one row per direct child unit (and the unit itself)."""
    rows = {scope.code: Row(scope.code, f"{scope.name}（本级）")}
    rows.update({u.code: Row(u.code, u.name) for u in _children(scope)})
    for (child, _month), figures in _read(scope, month, month, MONTHLY + REPEATS, by_child=True).items():
        if child in rows:  # always: the summary rows keep to the scope's subtree
            rows[child].add(figures)
    return list(rows.values())


# The monthly report's columns of the repeat-complaint rate (a report stored before them shows "—").
REPEAT_COLUMNS = [("repeats", "重复投诉数"), ("repeat_rate", "重复投诉率")]
REPEAT_DEFINITION = ("重复投诉率 = 本期收到的投诉中并入或关联为此前投诉的重复投诉件数 ÷ 本期收到的投诉件数"
                     "（含已并案的投诉；受理投诉数等其他数字中，已并案的投诉只按其并入的投诉计算一次）。")


REPEATS = ["complaints", "repeats"]  # complaints received (merged ones too), and those repeating an earlier case


def totals(rows: list[Row]) -> Row:
    total = Row("", "合计")
    for r in rows:
        total.add({**r.as_dict(), "satisfied": r.satisfaction.hits, "rated": r.satisfaction.total})
    return total


def _months_back(today: date, months: int) -> list[str]:
    first = today.year * 12 + today.month - 1
    return [f"{(first - i) // 12:04d}-{(first - i) % 12 + 1:02d}" for i in range(months - 1, -1, -1)]


def trend(scope: Unit, today: date, months: int = 12, *, facts: dict[tuple, dict[str, int]] | None = None
          ) -> list[dict]:
    """The last ``months`` months: received, closed, on-time completion and satisfaction.

    ``facts`` are ``_monthly_facts`` by month already read for (at least) those months.
    """
    labels = _months_back(today, months)
    if facts is None:
        facts = _monthly_facts(scope, labels[0], labels[-1], by_child=False)
    out = []
    for month in labels:
        f = facts.get((month,), {})
        out.append({"month": month, "received": f.get("received", 0), "closed": f.get("closed", 0),
                    "withdrawn": f.get("withdrawn", 0),
                    "completion": Rate(f.get("on_time", 0), f.get("completed", 0)).value,
                    "satisfaction": Rate(f.get("satisfied", 0), f.get("rated", 0)).value})
    return out


# --- the dashboard ---------------------------------------------------------------------------------

@dataclass
class Dashboard:
    """What a supervisor sees at a glance for their part of the tree."""

    scope: Unit
    state_counts: dict[CaseState, int]
    sign_rate: Rate
    completion_rate: Rate
    satisfaction_rate: Rate
    stage_days: dict[str, float | None]
    overdue_by_unit: list[tuple[Unit | None, str, int]]
    trend: list[dict]
    now: list[UnitNow] = field(default_factory=list)
    repeat_rate: Rate = field(default_factory=Rate)
    repeats_by_unit: list[tuple[str, str, Rate]] = field(default_factory=list)  # (code, name, rate) per child
    follow_up_facts: dict[tuple, dict[str, int]] = field(default_factory=dict)  # by (month,), for three_rates


def _average(total: int, n: int) -> float | None:
    return total / n if n else None


def dashboard(scope: Unit, *, since: date | None = None, today: date | None = None) -> Dashboard:
    """Counts by state, the rates, average working days per stage, late work by unit, 12-month trend.

    The figures are computed from the data; a repeat with nothing changed since is served from a small
    per-process cache (see ``_data_version``), so the first request after any change computes afresh.
    """
    today = today or local_today()
    since = (since or today.replace(day=1) - timedelta(days=365)).replace(day=1)  # figures by whole months
    key = (scope.id, since, today, _data_version())
    cache = current_app.extensions.setdefault("caseflow.dashboard_figures", OrderedDict())
    with _CACHE_LOCK:
        figures = cache.get(key)
        if figures is not None:
            cache.move_to_end(key)
    if figures is None:
        figures = _dashboard_figures(scope, since, today)
        with _CACHE_LOCK:
            cache[key] = figures
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
    now = _now_rows(scope, figures["now"])
    return Dashboard(scope, {CaseState(s): n for s, n in figures["states"].items()}, Rate(*figures["sign"]),
                     Rate(*figures["completion"]), Rate(*figures["satisfaction"]), dict(figures["stages"]),
                     overdue_by_unit(scope, today, now), [dict(t) for t in figures["trend"]], now,
                     *_repeat_rates(scope, figures["repeats"]),
                     {(month,): dict(counts) for month, counts in figures["follow_ups"].items()})


CACHE_SIZE = 512
_CACHE_LOCK = threading.Lock()  # a threaded server shares the cache between requests


def _data_version() -> tuple:
    """What the dashboard's figures depend on, in one cheap statement.

    Every change to a case or an order writes a ``case_events`` row (moves, extensions, recomputed
    deadlines, transfers), the chase appends ``chase_steps``, and the unit tree is summed by parent.
    Today's date is part of the cache key too (what is late depends on it).
    """
    events = sa.select(sa.func.max(CaseEvent.id)).scalar_subquery()
    steps = sa.select(sa.func.max(ChaseStep.id)).scalar_subquery()
    tree = sa.select(sa.func.count(Unit.id).label("units"), sa.func.sum(
        sa.cast(sa.func.coalesce(Unit.parent_id, 0), sa.BigInteger) * Unit.id).label("shape")).subquery()
    return tuple(db.session.execute(sa.select(events, steps, tree.c.units, tree.c.shape)).one())


STATES = [facts.state_metric(s) for s in CaseState.COUNTED]
OPEN_STATES = [facts.state_metric(s) for s in CaseState.COUNTED if s not in CaseState.FINISHED]
SENT = facts.metrics("sent")


def _dashboard_figures(scope: Unit, since: date, today: date) -> dict:
    """The dashboard's figures as plain data (no ORM objects: they outlive the session in the cache)."""
    first = f"{since:%Y-%m}"
    # Cases by state (all time; a merged case is counted once, as its primary) and orders sent since ``since``.
    found_states = _read(scope, None, None, STATES, by_child=False, by_month=False).get((), {})
    states = {s.value: found_states.get(facts.state_metric(s), 0) for s in CaseState.COUNTED}
    found = _read(scope, first, None, SENT, by_child=False, by_month=False).get((), {})
    o = SimpleNamespace(**{name.removeprefix("sent."): found.get(name, 0) for name in SENT})
    # Closings and ratings since ``since`` (a month's first day): summed from the trend's months, read
    # once from ``since`` (or the trend's first month, if earlier) to this month.
    labels = _months_back(today, 12)
    monthly = _monthly_facts(scope, min(first, labels[0]), labels[-1], by_child=False)
    e = SimpleNamespace(**{name: sum(f.get(name, 0) for (month,), f in monthly.items() if month >= first)
                           for name in ("rated", "satisfied", "closed", "close_days")})
    stage_days = {"sign": _average(o.sign_days, o.signed), "verify": _average(o.verify_days, o.verified),
                  "handle": _average(o.handle_days, o.handled), "close": _average(e.close_days, e.closed)}
    repeats = {code: (f.get("repeats", 0), f.get("complaints", 0))
               for (code,), f in _read(scope, first, f"{today:%Y-%m}", REPEATS, by_child=True, by_month=False).items()}
    return {"states": states, "sign": (o.signed_in_time, o.signed), "completion": (o.done_in_time, o.done),
            "satisfaction": (e.satisfied, e.rated), "stages": stage_days,
            "now": _now_figures(scope, today, sum(found_states.get(m, 0) for m in OPEN_STATES)),
            "trend": trend(scope, today, facts=monthly),
            "follow_ups": {month: counts for (month,), counts in follow_up_facts(
                scope, labels[0], labels[-1], by_child=False).items()},
            "repeats": repeats}


def _repeat_rates(scope: Unit, figures: dict[str, tuple[int, int]]) -> tuple[Rate, list[tuple[str, str, Rate]]]:
    """The scope's repeat-complaint rate and one per direct child (the scope's own line first)."""
    units = [(scope.code, f"{scope.name}（本级）"), *((u.code, u.name) for u in _children(scope))]
    rows = [(code, name, Rate(*figures.get(code, (0, 0)))) for code, name in units]
    return Rate(sum(r.hits for _c, _n, r in rows), sum(r.total for _c, _n, r in rows)), rows


@dataclass
class UnitNow:
    """Where one direct child (or the scope itself, ``unit`` None) stands today; each figure is a list's filter."""

    code: str
    name: str
    unit: Unit | None
    overdue_orders: int = 0  # orders it received that are late: /orders?unit=…&overdue=1
    overdue_cases: int = 0  # cases it is responsible for that are late: /cases?unit=…&overdue=1
    escalated: int = 0  # its open cases escalated to a higher level: /cases?unit=…&escalated=1


def by_unit_now(scope: Unit, today: date) -> list[UnitNow]:
    """Late orders, late cases (in their own step too) and escalated cases under each direct child."""
    return _now_rows(scope, _now_figures(scope, today))


PER_CASE_LIMIT = 10_000  # open cases in scope up to which each is asked; above it, the late work is read as sets


def _now_figures(scope: Unit, today: date, open_cases: int | None = None) -> dict[str, dict[str, int]]:
    """The figures of ``UnitNow`` by child code: two statements.

    Late orders are read off the orders' next-deadline index (the implied condition lets the database use
    it).  Late and escalated cases: a county's few thousand open cases are each asked (``case_overdue``,
    ``escalated``, over its units' index); a province's hundreds of thousands are not — the late cases and
    the escalations are read as sets from their own indexes (``status.late_cases``, ``escalated_cases``).
    The scope's open cases (``open_cases``, or counted here) come from the summary rows, to choose.
    """
    orders = (sa.select(Order.receiving_unit_id, sa.func.count().label("overdue_orders"))
              .where(status.order_overdue(Order, today), status.is_past(status.order_urgency(Order), today)),
              Order.receiving_unit_id)
    unfinished = Case.state.not_in(CaseState.FINISHED)
    if open_cases is None:
        open_cases = sum(_read(scope, None, None, OPEN_STATES, by_child=False, by_month=False).get((), {}).values())
    cases: tuple[sa.Select, Any]
    if open_cases <= PER_CASE_LIMIT:
        # The subtree's unit ids as values: the database then reads just their open cases (ix_cases_unfinished_unit).
        units = list(db.session.scalars(sa.select(Unit.id).where(_within(scope))))
        cases = (sa.select(Case.responsible_unit_id,
                           count_if(status.case_overdue(Case, aliased(Order), today)).label("overdue_cases"),
                           count_if(escalated(Case)).label("escalated"))
                 .where(unfinished, Case.responsible_unit_id.in_(units)), Case.responsible_unit_id)
    else:
        late = status.late_cases(Case, aliased(Order), today, Case.responsible_unit_id, where=unfinished).subquery()
        up = escalated_cases(Case, Case.responsible_unit_id).subquery()  # a row per escalation: distinct cases
        both = sa.union_all(
            sa.select(late.c.responsible_unit_id, sa.func.count().label("overdue_cases"), sa.literal(0).label("escalated"))
            .group_by(late.c.responsible_unit_id),
            sa.select(up.c.responsible_unit_id, sa.literal(0), sa.func.count(sa.distinct(up.c.id)))
            .group_by(up.c.responsible_unit_id),
        ).subquery()
        cases = (sa.select(both.c.responsible_unit_id, sa.func.sum(both.c.overdue_cases).label("overdue_cases"),
                           sa.func.sum(both.c.escalated).label("escalated")), both.c.responsible_unit_id)
    out: dict[str, dict[str, int]] = {}
    for stmt, unit_id in (orders, cases):
        for code, figures in _by_child(scope, stmt, unit_id).items():
            out.setdefault(code, {}).update(figures)
    return out


def _now_rows(scope: Unit, figures: dict[str, dict[str, int]]) -> list[UnitNow]:
    rows = {scope.code: UnitNow(scope.code, f"{scope.name}（本级）", None)}
    rows.update({u.code: UnitNow(u.code, u.name, u) for u in _children(scope)})
    for code, found in figures.items():
        for name, n in found.items():
            setattr(rows[code], name, n)
    return list(rows.values())


def overdue_by_unit(scope: Unit, today: date, now: list[UnitNow] | None = None) -> list[tuple[Unit | None, str, int]]:
    """Late open orders, counted under each direct child (for drill-down), most first."""
    now = by_unit_now(scope, today) if now is None else now
    late = sorted((r for r in now if r.overdue_orders), key=lambda r: (-r.overdue_orders, r.code))
    return [(r.unit, r.name, r.overdue_orders) for r in late]


# --- the three rates of the follow-ups (回访: 响应率 / 解决率 / 满意率) ------------------------------------

FOLLOW_UPS = facts.metrics("follow_ups")


def follow_up_facts(scope: Unit, first: str, last: str, *, by_child: bool) -> dict[tuple, dict[str, int]]:
    """Valid follow-ups ended in months ``first``..``last`` and their answers, per (child, month) or per (month,).

    A follow-up counts in the month it ended, for the unit that owed it (responsible at closing).
    """
    return {key: {name.removeprefix("fu."): n for name, n in counts.items()}
            for key, counts in _read(scope, first, last, FOLLOW_UPS, by_child=by_child).items()}


def three_rates_rows(scope: Unit, month: str, weights: dict[str, float]) -> dict[str, ThreeRates]:
    """The monthly report's three rates by child code (the scope's own code for itself)."""
    rows = {code: ThreeRates(weights) for code in (scope.code, *(u.code for u in _children(scope)))}
    for (child, _m), counts in follow_up_facts(scope, month, month, by_child=True).items():
        if child in rows:
            rows[child].add(counts)
    return rows


def three_rates(scope: Unit, today: date, weights: dict[str, float], months: int = 12, *,
                facts: dict[tuple, dict[str, int]] | None = None) -> tuple[ThreeRates, list[dict]]:
    """The scope's three rates over the last ``months`` months, and each month's for the trend lines.

    ``facts`` are ``follow_up_facts`` by month already read for those months (the dashboard's, cached with its
    other figures: the weights apply afterwards, so a change of weights shows at once).
    """
    labels = _months_back(today, months)
    if facts is None:
        facts = follow_up_facts(scope, labels[0], labels[-1], by_child=False)
    total, trend_rows = ThreeRates(weights), []
    for month in labels:
        rates = ThreeRates(weights)
        rates.add(facts.get((month,), {}))
        total.add(rates.counts)
        trend_rows.append({"month": month, "valid": rates.counts["valid"], "response": rates.response,
                           "resolution": rates.resolution, "satisfaction": rates.satisfaction})
    return total, trend_rows
