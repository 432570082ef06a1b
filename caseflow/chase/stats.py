"""Figures that cannot drift: computed only from facts frozen when they happened.

On-time signing and completion are frozen on the order when it is signed or
reported; overdue marks and escalations are append-only ``chase_steps``;
ratings are ``rate`` events carrying the rating given.  A later edit, an
extension or a calendar change therefore never rewrites a past month.
Everything is limited to one unit's part of the tree and grouped by the
unit's direct children (province → city → county → school).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from caseflow.deadlines import status
from caseflow.deadlines.settings import load_calendar
from caseflow.extensions import db
from caseflow.models import Case, CaseEvent, CaseState, ChaseStep, Order, OrderKind, Unit
from caseflow.timeutil import SHANGHAI, local_date, local_today

SATISFIED = ("satisfied", "basically")


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

    def add(self, hit: bool) -> None:
        self.total += 1
        self.hits += bool(hit)


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

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "received": self.received, "closed": self.closed,
                "on_time": self.on_time, "overdue": self.overdue, "escalated": self.escalated,
                "rated": self.satisfaction.total, "satisfied": self.satisfaction.hits,
                "satisfaction": self.satisfaction.percent}


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


class Grouper:
    """Maps a unit path below ``scope`` to the scope's direct child it lies under."""

    def __init__(self, scope: Unit):
        self.scope = scope
        self.depth = len(scope.ancestor_codes)
        self.children = {u.code: u for u in db.session.scalars(
            sa.select(Unit).where(Unit.parent_id == scope.id).order_by(Unit.code))}

    def key(self, path: str) -> str | None:
        """The child's code, the scope's own code for the scope itself, or None outside it."""
        if not path.startswith(self.scope.path):
            return None
        codes = [c for c in path.split("/") if c]
        return codes[self.depth] if len(codes) > self.depth else self.scope.code

    def rows(self) -> dict[str, Row]:
        rows = {self.scope.code: Row(self.scope.code, f"{self.scope.name}（本级）")}
        rows.update({c: Row(c, u.name) for c, u in self.children.items()})
        return rows


def _in_period(column, start: datetime, end: datetime):
    return sa.and_(column >= start, column < end)


def monthly_rows(scope: Unit, month: str) -> list[Row]:
    """The 通报 table for a month: one row per direct child unit (and the unit itself)."""
    start, end = month_bounds(month)
    grouper = Grouper(scope)
    rows = grouper.rows()
    resp, recv = aliased(Unit), aliased(Unit)
    inside = resp.path.startswith(scope.path, autoescape=True)

    def bump(path: str, attr: str) -> None:
        key = grouper.key(path)
        if key in rows:
            setattr(rows[key], attr, getattr(rows[key], attr) + 1)

    for (path,) in db.session.execute(sa.select(resp.path).select_from(Case).join(resp, resp.id == Case.responsible_unit_id)
                                      .where(inside, _in_period(Case.received_at, start, end))):
        bump(path, "received")
    event_rows = db.session.execute(
        sa.select(resp.path, CaseEvent.action, CaseEvent.value).select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id).join(resp, resp.id == Case.responsible_unit_id)
        .where(inside, CaseEvent.action.in_(("close", "rate")), _in_period(CaseEvent.created_at, start, end)))
    for path, action, value in event_rows:
        if action == "close":
            bump(path, "closed")
        elif (key := grouper.key(path)) in rows:
            rows[key].satisfaction.add(value in SATISFIED)
    for (path,) in db.session.execute(
            sa.select(recv.path).select_from(Order).join(recv, recv.id == Order.receiving_unit_id)
            .where(recv.path.startswith(scope.path, autoescape=True), Order.completed_on_time.is_(True),
                   _in_period(Order.reported_at, start, end))):
        bump(path, "on_time")
    # Overdue: who was late (the receiving unit, or the responsible unit for its own deadline).
    step_rows = db.session.execute(
        sa.select(ChaseStep.step, sa.func.coalesce(recv.path, resp.path))
        .select_from(ChaseStep).join(Case, Case.id == ChaseStep.case_id)
        .join(resp, resp.id == Case.responsible_unit_id)
        .outerjoin(Order, Order.id == ChaseStep.order_id).outerjoin(recv, recv.id == Order.receiving_unit_id)
        .where(ChaseStep.step.in_(("overdue", "escalate")), ChaseStep.deadline != "sign",
               _in_period(ChaseStep.created_at, start, end)))
    for step, path in step_rows:
        bump(path, "overdue" if step == "overdue" else "escalated")
    return list(rows.values())


def totals(rows: list[Row]) -> Row:
    total = Row("", "合计")
    for r in rows:
        for attr in ("received", "closed", "on_time", "overdue", "escalated"):
            setattr(total, attr, getattr(total, attr) + getattr(r, attr))
        total.satisfaction.hits += r.satisfaction.hits
        total.satisfaction.total += r.satisfaction.total
    return total


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


def dashboard(scope: Unit, *, since: date | None = None, today: date | None = None) -> Dashboard:
    """Counts by state, the rates, average working days per stage, overdue by unit, 12-month trend."""
    today = today or local_today()
    since = since or (today.replace(day=1) - timedelta(days=365)).replace(day=1)
    start = datetime.combine(since, time(), SHANGHAI).astimezone(UTC)
    resp, recv = aliased(Unit), aliased(Unit)
    case_inside = resp.path.startswith(scope.path, autoescape=True)
    order_inside = recv.path.startswith(scope.path, autoescape=True)
    counts = dict.fromkeys(CaseState, 0)
    for state, n in db.session.execute(
            sa.select(Case.state, sa.func.count()).join(resp, resp.id == Case.responsible_unit_id)
            .where(case_inside).group_by(Case.state)):
        counts[CaseState(state)] = n

    cal = load_calendar()
    sign, complete = Rate(), Rate()
    stages: dict[str, list[int]] = defaultdict(list)
    for o in db.session.execute(
            sa.select(Order.kind, Order.sent_at, Order.signed_at, Order.reported_at, Order.signed_on_time,
                      Order.completed_on_time)
            .join(recv, recv.id == Order.receiving_unit_id)
            .where(order_inside, Order.sent_at >= start)):
        if o.signed_on_time is not None:
            sign.add(o.signed_on_time)
            stages["sign"].append(cal.count(local_date(o.sent_at), local_date(o.signed_at)))
        if o.completed_on_time is not None:
            complete.add(o.completed_on_time)
            key = "verify" if o.kind == OrderKind.VERIFICATION else "handle"
            stages[key].append(cal.count(local_date(o.sent_at), local_date(o.reported_at)))
    satisfaction = Rate()
    closes = db.session.execute(
        sa.select(CaseEvent.action, CaseEvent.value, CaseEvent.created_at, Case.received_at)
        .join(Case, Case.id == CaseEvent.case_id).join(resp, resp.id == Case.responsible_unit_id)
        .where(case_inside, CaseEvent.action.in_(("rate", "close")), CaseEvent.created_at >= start))
    for action, value, at, received in closes:
        if action == "rate":
            satisfaction.add(value in SATISFIED)
        else:
            stages["close"].append(cal.count(local_date(received), local_date(at)))
    stage_days = {k: (sum(v) / len(v) if v else None) for k, v in
                  ((k, stages.get(k, [])) for k in ("sign", "verify", "handle", "close"))}
    return Dashboard(scope, counts, sign, complete, satisfaction, stage_days,
                     overdue_by_unit(scope, today), trend(scope, today))


def overdue_by_unit(scope: Unit, today: date) -> list[tuple[Unit | None, str, int]]:
    """Open orders past their deadline, counted under each direct child (for drill-down)."""
    grouper = Grouper(scope)
    recv = aliased(Unit)
    counts: dict[str, int] = defaultdict(int)
    for (path,) in db.session.execute(
            sa.select(recv.path).select_from(Order).join(recv, recv.id == Order.receiving_unit_id)
            .where(recv.path.startswith(scope.path, autoescape=True), status.completion_running(Order),
                   status.is_past(Order.due_on, today))):
        counts[grouper.key(path)] += 1
    result = []
    for code, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        unit = grouper.children.get(code)
        result.append((unit, unit.name if unit else f"{scope.name}（本级）", n))
    return result


def trend(scope: Unit, today: date, months: int = 12) -> list[dict]:
    """The last ``months`` months: received, closed, on-time completion and satisfaction."""
    out = []
    first = today.replace(day=1)
    for i in range(months - 1, -1, -1):
        y, m = divmod(first.year * 12 + first.month - 1 - i, 12)
        month = f"{y:04d}-{m + 1:02d}"
        total = totals(monthly_rows(scope, month))
        start, end = month_bounds(month)
        completed = Rate()
        recv = aliased(Unit)
        for (on_time,) in db.session.execute(
                sa.select(Order.completed_on_time).join(recv, recv.id == Order.receiving_unit_id)
                .where(recv.path.startswith(scope.path, autoescape=True), Order.completed_on_time.is_not(None),
                       _in_period(Order.reported_at, start, end))):
            completed.add(on_time)
        out.append({"month": month, "received": total.received, "closed": total.closed,
                    "completion": completed.value, "satisfaction": total.satisfaction.value})
    return out
