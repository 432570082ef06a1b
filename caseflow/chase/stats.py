"""Figures that cannot drift: computed only from facts frozen when they happened.

On-time signing and completion, and the working days each step took, are frozen
on the order when it is signed or reported (the days to closing on the ``close``
event); overdue marks and escalations are append-only ``chase_steps``; ratings
are ``rate`` events carrying the rating given.  A later edit, an extension or a
calendar change therefore never rewrites a past month.

Everything is limited to one unit's part of the tree and grouped by the unit's
direct children (province → city → county → school) and by Shanghai calendar
month, in SQL: each fact is read once over its index and joined to a small
derived table of the scope's units that gives each unit the child it lies below
(from its path), then hashed into a few groups.  The dashboard is a handful of
statements whatever the number of cases, on PostgreSQL and SQLite alike.
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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from caseflow.chase.queries import BY_HAND, escalated
from caseflow.chase.rates import ThreeRates
from caseflow.deadlines import status
from caseflow.extensions import db
from caseflow.models import (
    Case,
    CaseEvent,
    CaseLink,
    CaseState,
    ChaseStep,
    FollowUp,
    FollowUpState,
    Order,
    OrderKind,
    Rating,
    Resolution,
    Unit,
)
from caseflow.timeutil import SHANGHAI, local_today

SATISFIED = (Rating.SATISFIED.value, Rating.BASICALLY.value)


# --- SQL building blocks (PostgreSQL and SQLite) ---------------------------------------------------

def _sql_function(name: str, type_: sa.types.TypeEngine, postgresql: str, other: str) -> Any:
    """A SQL function written one way for PostgreSQL and another for SQLite ({} is the argument list)."""
    element = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True})
    for dialect, template in (("postgresql", postgresql), (None, other)):
        def render(el, compiler, _template=template, **kw):
            return _template.format(compiler.process(el.clauses, **kw))
        compiles(element, *([dialect] if dialect else []))(render)
    return element


# The first day of a UTC timestamp's Shanghai month (read it with ``_month``); date_trunc is much cheaper per
# row than to_char.  SQLite keeps naive UTC text, and Shanghai has had no daylight saving time since 1991.
local_month = _sql_function("local_month", sa.String(), "date_trunc('month', ({}) AT TIME ZONE 'Asia/Shanghai')",
                            "strftime('%Y-%m', {}, '+8 hours')")
# 1-based position of a substring (0 when absent).
strpos = _sql_function("strpos", sa.Integer(), "strpos({})", "instr({})")


def child_code(scope: Unit, path: Any) -> Any:
    """SQL: the code of the scope's direct child that a unit ``path`` lies under (the scope's own code for itself).

    A path is ``000000/410000/410100/``: the child's code is the segment right after the scope's path.
    """
    rest = sa.func.substr(path, len(scope.path) + 1)
    return sa.case((path == scope.path, sa.literal(scope.code)), else_=sa.func.substr(rest, 1, strpos(rest, "/") - 1))


def _count_if(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _within(scope: Unit) -> Any:
    return Unit.path.startswith(scope.path, autoescape=True)


def _roll_up(scope: Unit, stmt: sa.Select, unit_id: Any, *, by_child: bool, by_month: bool
             ) -> dict[tuple, dict[str, int]]:
    """Run ``stmt`` (from ``_per_unit``) grouped by the scope's child that ``unit_id`` lies under and/or by month.

    The child comes from a small derived table of the subtree's units (id → child code, computed from
    the path), so the big table is read once over its index and hashed into a few groups.
    """
    cols = list(stmt.selected_columns)
    month = cols[1] if by_month else None
    figures = cols[2 if by_month else 1:]
    names = [str(c.key) for c in figures]
    keys: list[Any] = []
    if by_child:
        units = sa.select(Unit.id, child_code(scope, Unit.path).label("child")).where(_within(scope)).subquery()
        stmt = stmt.where(unit_id == units.c.id)
        keys.append(units.c.child)
    else:
        stmt = stmt.where(unit_id.in_(sa.select(Unit.id).where(_within(scope))))
    if month is not None:
        keys.append(month)
    stmt = stmt.with_only_columns(*keys, *figures, maintain_column_froms=True)
    if keys:
        stmt = stmt.group_by(*keys)
    out: dict[tuple, dict[str, int]] = {}
    for row in db.session.execute(stmt).mappings():
        key = tuple(_month(row[k.key]) if k.key == "month" else row[k.key] for k in keys)
        out[key] = {name: int(row[name] or 0) for name in names}
    return out


def _month(value: Any) -> str:
    """'YYYY-MM' of what ``local_month`` gave (a timestamp on PostgreSQL, text on SQLite)."""
    return value[:7] if isinstance(value, str) else f"{value:%Y-%m}"


def _per_unit(unit_id: Any, at: Any | None, *figures: Any) -> sa.Select:
    """SELECT unit_id[, month], figures… — filtered by the caller, then grouped by ``_roll_up``."""
    cols = [unit_id.label("unit_id")]
    if at is not None:
        cols.append(local_month(at).label("month"))
    return sa.select(*cols, *figures)


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


def _in_period(column, start: datetime, end: datetime):
    return sa.and_(column >= start, column < end)


def _monthly_facts(scope: Unit, start: datetime, end: datetime, *, by_child: bool) -> dict[tuple, dict[str, int]]:
    """The report's counts per (child, month) or per (month,): four statements, one per kind of fact."""
    out: dict[tuple, dict[str, int]] = {}

    def merge(found: dict[tuple, dict[str, int]]) -> None:
        for key, figures in found.items():
            slot = out.setdefault(key, {})
            for name, n in figures.items():
                slot[name] = slot.get(name, 0) + n

    def run(unit_id, at, where, *figures):
        stmt = _per_unit(unit_id, at, *figures).where(where, _in_period(at, start, end))
        return _roll_up(scope, stmt, unit_id, by_child=by_child, by_month=True)

    # A merged repeat complaint is counted once, as its primary.
    merge(run(Case.responsible_unit_id, Case.received_at, Case.state.in_(CaseState.COUNTED),
              sa.func.count().label("received")))
    # Withdrawals (撤诉) on their own: a case ended by its complainant is no closing (ix_cases_withdrawn).
    merge(run(Case.responsible_unit_id, Case.withdrawn_at, Case.withdrawn_at.is_not(None),
              sa.func.count().label("withdrawn")))
    events = (_per_unit(Case.responsible_unit_id, CaseEvent.created_at,
                        _count_if(CaseEvent.action == "close").label("closed"),
                        sa.func.sum(sa.case((CaseEvent.action == "close", CaseEvent.workdays))).label("close_days"),
                        _count_if(CaseEvent.action == "rate").label("rated"),
                        _count_if(sa.and_(CaseEvent.action == "rate", CaseEvent.value.in_(SATISFIED))).label("satisfied"))
              .select_from(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
              .where(CaseEvent.action.in_(("close", "rate")), _in_period(CaseEvent.created_at, start, end)))
    merge(_roll_up(scope, events, Case.responsible_unit_id, by_child=by_child, by_month=True))
    merge(run(Order.receiving_unit_id, Order.reported_at, Order.completed_on_time.is_not(None),
              _count_if(Order.completed_on_time.is_(True)).label("on_time"),
              sa.func.count().label("completed")))
    # Overdue: who was late (the receiving unit, or the responsible unit for its own deadline).
    late_unit = sa.func.coalesce(Order.receiving_unit_id, Case.responsible_unit_id)
    steps = (_per_unit(late_unit, ChaseStep.created_at,
                       _count_if(ChaseStep.step == "overdue").label("overdue"),
                       _count_if(ChaseStep.step == "escalate").label("escalated"))
             .select_from(ChaseStep).join(Case, Case.id == ChaseStep.case_id)
             .outerjoin(Order, Order.id == ChaseStep.order_id)
             .where(ChaseStep.step.in_(("overdue", "escalate")), ChaseStep.deadline != "sign",
                    ChaseStep.subject.not_like(f"{BY_HAND}%"),  # the 督办数 counts escalations of late work
                    ChaseStep.subject.not_like("follow_up:%"),  # a late follow-up call is no late handling
                    _in_period(ChaseStep.created_at, start, end)))
    merge(_roll_up(scope, steps, late_unit, by_child=by_child, by_month=True))
    return out


def _children(scope: Unit) -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).where(Unit.parent_id == scope.id).order_by(Unit.code)))


def monthly_rows(scope: Unit, month: str) -> list[Row]:
    """The 通报 table for a month: one row per direct child unit (and the unit itself)."""
    start, end = month_bounds(month)
    rows = {scope.code: Row(scope.code, f"{scope.name}（本级）")}
    rows.update({u.code: Row(u.code, u.name) for u in _children(scope)})
    for (child, _month), figures in _monthly_facts(scope, start, end, by_child=True).items():
        if child in rows:  # always: the statements keep to the scope's subtree
            rows[child].add(figures)
    for (child, _month), figures in repeat_facts(scope, start, end, by_child=True).items():
        rows[child].add(figures)
    return list(rows.values())


# The monthly report's columns of the repeat-complaint rate (a report stored before them shows "—").
REPEAT_COLUMNS = [("repeats", "重复投诉数"), ("repeat_rate", "重复投诉率")]
REPEAT_DEFINITION = ("重复投诉率 = 本期收到的投诉中并入或关联为此前投诉的重复投诉件数 ÷ 本期收到的投诉件数"
                     "（含已并案的投诉；受理投诉数等其他数字中，已并案的投诉只按其并入的投诉计算一次）。")


def repeat_facts(scope: Unit, start: datetime, end: datetime, *, by_child: bool) -> dict[tuple, dict[str, int]]:
    """Complaints received per (child, month) or per (month,), and how many of them repeat an earlier case:
    merged into it (并单) or linked to it (关联). One statement, by the date the repeat was received."""
    linked = sa.exists().where(CaseLink.case_id == Case.id, CaseLink.linked_at.is_not(None))
    stmt = (_per_unit(Case.responsible_unit_id, Case.received_at, sa.func.count().label("complaints"),
                      _count_if(sa.or_(Case.state == CaseState.MERGED, linked)).label("repeats"))
            .where(_in_period(Case.received_at, start, end)))
    return _roll_up(scope, stmt, Case.responsible_unit_id, by_child=by_child, by_month=True)


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
        facts = _monthly_facts(scope, month_bounds(labels[0])[0], month_bounds(labels[-1])[1], by_child=False)
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


def _dashboard_figures(scope: Unit, since: date, today: date) -> dict:
    """The dashboard's figures as plain data (no ORM objects: they outlive the session in the cache)."""
    start = datetime.combine(since, time(), SHANGHAI).astimezone(UTC)
    subtree = sa.select(Unit.id).where(_within(scope))

    states = {s.value: 0 for s in CaseState.COUNTED}  # a merged case is counted once, as its primary
    for state, n in db.session.execute(
            sa.select(Case.state, sa.func.count()).where(Case.responsible_unit_id.in_(subtree),
                                                        Case.state.in_(CaseState.COUNTED)).group_by(Case.state)):
        states[CaseState(state).value] = n

    verify, handle = Order.kind == OrderKind.VERIFICATION, Order.kind == OrderKind.SUPERVISION
    done = Order.completed_on_time.is_not(None)
    o = db.session.execute(sa.select(
        _count_if(Order.signed_on_time.is_(True)).label("signed_in_time"),
        sa.func.count(Order.signed_on_time).label("signed"),
        sa.func.sum(Order.sign_workdays).label("sign_days"),
        _count_if(Order.completed_on_time.is_(True)).label("done_in_time"),
        sa.func.count(Order.completed_on_time).label("done"),
        sa.func.sum(sa.case((sa.and_(done, verify), Order.complete_workdays))).label("verify_days"),
        _count_if(sa.and_(done, verify)).label("verified"),
        sa.func.sum(sa.case((sa.and_(done, handle), Order.complete_workdays))).label("handle_days"),
        _count_if(sa.and_(done, handle)).label("handled"),
    ).where(Order.receiving_unit_id.in_(subtree), Order.sent_at >= start)).one()
    # Closings and ratings since ``since`` (a month's first day): summed from the trend's months, read
    # once from ``since`` (or the trend's first month, if earlier) to the end of this month.
    labels = _months_back(today, 12)
    first = min(f"{since:%Y-%m}", labels[0])
    facts = _monthly_facts(scope, month_bounds(first)[0], month_bounds(labels[-1])[1], by_child=False)
    e = SimpleNamespace(**{name: sum(f.get(name, 0) for (month,), f in facts.items() if month >= f"{since:%Y-%m}")
                           for name in ("rated", "satisfied", "closed", "close_days")})
    stage_days = {"sign": _average(o.sign_days or 0, o.signed), "verify": _average(o.verify_days or 0, o.verified or 0),
                  "handle": _average(o.handle_days or 0, o.handled or 0),
                  "close": _average(e.close_days or 0, e.closed or 0)}
    return {"states": states, "sign": (o.signed_in_time or 0, o.signed), "completion": (o.done_in_time or 0, o.done),
            "satisfaction": (e.satisfied or 0, e.rated or 0), "stages": stage_days,
            "now": _now_figures(scope, today), "trend": trend(scope, today, facts=facts),
            "follow_ups": {month: counts for (month,), counts in follow_up_facts(
                scope, month_bounds(labels[0])[0], month_bounds(labels[-1])[1], by_child=False).items()},
            "repeats": _repeat_figures(scope, start, today)}


def _repeat_figures(scope: Unit, start: datetime, today: date) -> dict[str, tuple[int, int]]:
    """(repeats, complaints) per direct child code since ``start``, for the dashboard's 重复投诉率."""
    out: dict[str, tuple[int, int]] = {}
    end = month_bounds(f"{today:%Y-%m}")[1]
    for (code, _month), f in repeat_facts(scope, start, end, by_child=True).items():
        hits, total = out.get(code, (0, 0))
        out[code] = (hits + f.get("repeats", 0), total + f.get("complaints", 0))
    return out


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


def _now_figures(scope: Unit, today: date) -> dict[str, dict[str, int]]:
    """The figures of ``UnitNow`` by child code: two statements."""
    orders = (_per_unit(Order.receiving_unit_id, None, sa.func.count().label("overdue_orders"))
              .where(status.order_overdue(Order, today)), Order.receiving_unit_id)
    cases = (_per_unit(Case.responsible_unit_id, None,
                       _count_if(status.case_overdue(Case, aliased(Order), today)).label("overdue_cases"),
                       _count_if(escalated(Case)).label("escalated"))
             .where(Case.state.not_in(CaseState.FINISHED)), Case.responsible_unit_id)
    out: dict[str, dict[str, int]] = {}
    for stmt, unit_id in (orders, cases):
        for (code,), figures in _roll_up(scope, stmt, unit_id, by_child=True, by_month=False).items():
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

def follow_up_facts(scope: Unit, start: datetime, end: datetime, *, by_child: bool) -> dict[tuple, dict[str, int]]:
    """Valid follow-ups ended in [start, end) and their answers, per (child, month) or per (month,): one statement.

    A follow-up counts in the month it ended, for the unit that owed it (responsible at closing).
    """
    valid = FollowUp.state.in_(FollowUpState.VALID)
    stmt = (_per_unit(FollowUp.unit_id, FollowUp.ended_at,
                      sa.func.count().label("valid"),
                      _count_if(FollowUp.in_time.is_(True)).label("in_time"),
                      _count_if(FollowUp.resolution == Resolution.SOLVED).label("solved"),
                      _count_if(FollowUp.resolution == Resolution.PARTLY).label("partly"),
                      _count_if(FollowUp.rating == Rating.SATISFIED).label("satisfied"),
                      _count_if(FollowUp.rating == Rating.BASICALLY).label("basically"))
            .where(valid, _in_period(FollowUp.ended_at, start, end)))
    return _roll_up(scope, stmt, FollowUp.unit_id, by_child=by_child, by_month=True)


def three_rates_rows(scope: Unit, month: str, weights: dict[str, float]) -> dict[str, ThreeRates]:
    """The monthly report's three rates by child code (the scope's own code for itself)."""
    start, end = month_bounds(month)
    rows = {code: ThreeRates(weights) for code in (scope.code, *(u.code for u in _children(scope)))}
    for (child, _m), counts in follow_up_facts(scope, start, end, by_child=True).items():
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
        facts = follow_up_facts(scope, month_bounds(labels[0])[0], month_bounds(labels[-1])[1], by_child=False)
    total, trend_rows = ThreeRates(weights), []
    for month in labels:
        rates = ThreeRates(weights)
        rates.add(facts.get((month,), {}))
        total.add(rates.counts)
        trend_rows.append({"month": month, "valid": rates.counts["valid"], "response": rates.response,
                           "resolution": rates.resolution, "satisfaction": rates.satisfaction})
    return total, trend_rows
