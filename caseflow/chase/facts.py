"""Summary rows: the counts behind the dashboard and the monthly report, kept by the transaction that changes them.

A *fact* is a number for one unit, one Shanghai calendar month and one metric ("received", "closed", "overdue",
…).  ``KINDS`` says, once, which rows count toward which metric, for which unit and in which month: the cases
by the month they were received, closings and ratings, the orders by the month they were sent and reported,
the chase's overdue marks and escalations, the follow-up calls.  Every figure the dashboard and the report
show is read from two tables this module keeps:

- ``unit_facts`` (unit, month, metric) → n, **rolled up**: a unit's row counts its own facts and those of
  every unit below it, so a province's twelve months are a dozen rows whatever the number of cases;
- ``case_facts``: each case's own facts as last added to ``unit_facts``, so that a change is applied as the
  difference between a case's facts before and after it.

Any flush that adds, changes or deletes a case or one of its orders, events, chase steps, follow-ups or
links marks the case (``extensions.CommitMarks``); code that writes those tables with a bulk statement marks them with
``touch``.  Just before the commit, the marked cases' facts are computed afresh from the data, compared with
what ``case_facts`` holds, and the difference is added to ``unit_facts`` for the unit and all its parents —
in the same transaction, so the summary is never out of step with the data a reader sees.  Concurrent
transactions touching the same case serialise on its ``case_facts`` row (locked before it is read); the
summary rows are updated in one statement in a fixed order, so two transactions cannot deadlock on them.

``rebuild`` computes both tables from scratch (the migration and the benchmark's bulk load use it);
``drift`` compares them with a fresh computation (the tests call it after every test).
"""
from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from caseflow.chase.queries import BY_HAND
from caseflow.extensions import AnySession, CommitMarks, db
from caseflow.models import (
    Case,
    CaseEvent,
    CaseFacts,
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
    UnitFacts,
)
from caseflow.sqlfunctions import count_if, sql_function, sum_if

SATISFIED = (Rating.SATISFIED.value, Rating.BASICALLY.value)
Key = tuple[int, str, str]  # (unit id, 'YYYY-MM', metric)


# The 'YYYY-MM' of a UTC timestamp's Shanghai calendar month (SQLite keeps naive UTC text; Shanghai has had no
# daylight saving time since 1991).
month_key = sql_function("month_key", sa.String(), "to_char(({0}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
                         "strftime('%Y-%m', {0}, '+8 hours')")


@dataclass(frozen=True)
class Kind:
    """One kind of fact: rows of ``source`` (filtered by ``where``) counted for ``unit`` in the month of ``at``."""

    name: str
    case_id: Any
    unit: Any
    at: Any
    source: Any  # a FROM clause (table or join)
    where: tuple
    metrics: dict[str, Any]  # metric name → aggregate over the rows

    def select(self, *, by_case: bool, cases: Any = None) -> sa.Select:
        keys = [self.case_id.label("case_id")] if by_case else []
        keys += [self.unit.label("unit_id"), month_key(self.at).label("month")]
        stmt = (sa.select(*keys, *(agg.label(name) for name, agg in self.metrics.items()))
                .select_from(self.source).where(*self.where, self.at.is_not(None), self.unit.is_not(None)))
        if cases is not None:
            stmt = stmt.where(cases(self.case_id))
        return stmt.group_by(*(k.element for k in keys))


@functools.cache
def _kinds() -> list[Kind]:
    """What counts, once for every reader."""
    counted = Case.state.in_(CaseState.COUNTED)  # a merged repeat complaint is counted once, as its primary
    linked = sa.exists().where(CaseLink.case_id == Case.id, CaseLink.linked_at.is_not(None))
    verify, handle = Order.kind == OrderKind.VERIFICATION, Order.kind == OrderKind.SUPERVISION
    done = Order.completed_on_time.is_not(None)
    valid = FollowUp.state.in_(FollowUpState.VALID)
    close, rate = CaseEvent.action == "close", CaseEvent.action == "rate"
    return [
        # Cases by the month they were received, for the unit responsible for them.
        Kind("received", Case.id, Case.responsible_unit_id, Case.received_at, Case, (), {
            "received": count_if(counted),
            "complaints": sa.func.count(),  # 重复投诉率's denominator counts merged complaints too
            "repeats": count_if(sa.or_(Case.state == CaseState.MERGED, linked)),
            **{state_metric(s): count_if(Case.state == s) for s in CaseState.COUNTED},
        }),
        # Withdrawals (撤诉): a case ended by its complainant is no closing.
        Kind("withdrawn", Case.id, Case.responsible_unit_id, Case.withdrawn_at, Case, (),
             {"withdrawn": sa.func.count()}),
        # Closings and ratings, for the unit responsible for the case.
        Kind("closings", CaseEvent.case_id, Case.responsible_unit_id, CaseEvent.created_at,
             sa.join(CaseEvent, Case, Case.id == CaseEvent.case_id), (CaseEvent.action.in_(("close", "rate")),), {
                 "closed": count_if(close),
                 "close_days": sum_if(close, sa.func.coalesce(CaseEvent.workdays, 0)),
                 "rated": count_if(rate),
                 "satisfied": count_if(sa.and_(rate, CaseEvent.value.in_(SATISFIED))),
             }),
        # Orders by the month they were reported, for the receiving unit: on-time completion.
        Kind("reported", Order.case_id, Order.receiving_unit_id, Order.reported_at, Order, (done,), {
            "on_time": count_if(Order.completed_on_time.is_(True)),
            "completed": sa.func.count(),
        }),
        # Orders by the month they were sent: signing and completion, and the working days each stage took.
        Kind("sent", Order.case_id, Order.receiving_unit_id, Order.sent_at, Order, (), {
            "sent.signed_in_time": count_if(Order.signed_on_time.is_(True)),
            "sent.signed": count_if(Order.signed_on_time.is_not(None)),
            "sent.sign_days": sum_if(Order.sign_workdays.is_not(None), Order.sign_workdays),
            "sent.done_in_time": count_if(Order.completed_on_time.is_(True)),
            "sent.done": count_if(done),
            "sent.verify_days": sum_if(sa.and_(done, verify, Order.complete_workdays.is_not(None)),
                                        Order.complete_workdays),
            "sent.verified": count_if(sa.and_(done, verify)),
            "sent.handle_days": sum_if(sa.and_(done, handle, Order.complete_workdays.is_not(None)),
                                        Order.complete_workdays),
            "sent.handled": count_if(sa.and_(done, handle)),
        }),
        # Overdue marks and escalations, for who was late: the receiving unit, or the responsible unit for
        # its own deadline.  The 督办数 counts escalations of late work (not by hand, not of a follow-up call).
        Kind("chase", ChaseStep.case_id, sa.func.coalesce(Order.receiving_unit_id, Case.responsible_unit_id),
             ChaseStep.created_at,
             sa.join(ChaseStep, Case, Case.id == ChaseStep.case_id).outerjoin(Order, Order.id == ChaseStep.order_id),
             (ChaseStep.step.in_(("overdue", "escalate")), ChaseStep.deadline != "sign",
              ChaseStep.subject.not_like(f"{BY_HAND}%"), ChaseStep.subject.not_like("follow_up:%")), {
                 "overdue": count_if(ChaseStep.step == "overdue"),
                 "escalated": count_if(ChaseStep.step == "escalate"),
             }),
        # Valid follow-up calls, in the month they ended, for the unit that owed them.
        Kind("follow_ups", FollowUp.case_id, FollowUp.unit_id, FollowUp.ended_at, FollowUp, (valid,), {
            "fu.valid": sa.func.count(),
            "fu.in_time": count_if(FollowUp.in_time.is_(True)),
            "fu.solved": count_if(FollowUp.resolution == Resolution.SOLVED),
            "fu.partly": count_if(FollowUp.resolution == Resolution.PARTLY),
            "fu.satisfied": count_if(FollowUp.rating == Rating.SATISFIED),
            "fu.basically": count_if(FollowUp.rating == Rating.BASICALLY),
        }),
    ]


def metrics(*kinds: str) -> list[str]:
    """The metric names of the named kinds (of every kind when none is named)."""
    return [name for kind in _kinds() if not kinds or kind.name in kinds for name in kind.metrics]


def state_metric(state: CaseState) -> str:
    """The metric counting the cases in ``state`` (by the month they were received)."""
    return f"state:{state.value}"


# --- the facts of given cases ----------------------------------------------------------------------

def facts_of(cases: Any, session: AnySession | None = None) -> dict[int, dict[Key, int]]:
    """Each case's facts, computed from the data.  ``cases`` is a list of case ids or a (low, high) id range.

    One statement, built once per process: every kind's rows side by side (a kind's metrics in ``v0``…).
    """
    session = db.session if session is None else session
    kinds = _kinds()
    if isinstance(cases, tuple):
        rows = session.execute(_facts_statement(True), {"low": cases[0], "high": cases[1]})
    else:
        rows = session.execute(_facts_statement(False), {"case_ids": list(cases)})
    out: dict[int, dict[Key, int]] = defaultdict(dict)
    for row in rows:
        mine = out[row.case_id]
        for name, n in zip(kinds[row.kind].metrics, row[4:], strict=False):
            if n:
                mine[(row.unit_id, row.month, name)] = int(n)
    return out


@functools.cache
def _facts_statement(by_range: bool) -> sa.CompoundSelect:
    def cases(column):
        if by_range:
            return column.between(sa.bindparam("low"), sa.bindparam("high"))
        return column.in_(sa.bindparam("case_ids", expanding=True))

    kinds = _kinds()
    width = max(len(k.metrics) for k in kinds)
    parts = []
    for number, kind in enumerate(kinds):
        stmt = kind.select(by_case=True, cases=cases)
        values = [sa.cast(c, sa.BigInteger) for c in list(stmt.selected_columns)[3:]]
        values += [sa.cast(sa.null(), sa.BigInteger)] * (width - len(values))
        parts.append(stmt.with_only_columns(*list(stmt.selected_columns)[:3], sa.literal(number).label("kind"),
                                            *(v.label(f"v{i}") for i, v in enumerate(values))))
    return sa.union_all(*parts)


def _encode(facts: dict[Key, int]) -> str:
    return json.dumps(sorted([u, m, k, n] for (u, m, k), n in facts.items()), separators=(",", ":"))


def _decode(text: str) -> dict[Key, int]:
    return {(u, m, k): n for u, m, k, n in json.loads(text)}


def _ancestors(unit_ids: Iterable[int], session: AnySession) -> dict[int, list[int]]:
    """Each unit's id and its parents' ids, up the tree (one statement)."""
    tree = _ancestry(sa.select(Unit.id).where(Unit.id.in_(set(unit_ids))))
    out: dict[int, list[int]] = defaultdict(list)
    for unit, ancestor in session.execute(sa.select(tree.c.unit_id, tree.c.ancestor_id)):
        out[unit].append(ancestor)
    return out


CHUNK = 2000


def refresh(case_ids: Iterable[int]) -> None:
    """Bring the facts of these cases up to date in ``case_facts`` and (as a difference) in ``unit_facts``."""
    ids = sorted(set(case_ids))
    delta: dict[Key, int] = defaultdict(int)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        # Lock first (in id order): a concurrent transaction on the same case waits here until this one
        # commits, then reads the facts it left.
        old = {cid: _decode(text) for cid, text in db.session.execute(
            sa.select(CaseFacts.case_id, CaseFacts.facts).where(CaseFacts.case_id.in_(chunk))
            .order_by(CaseFacts.case_id).with_for_update())}
        new = facts_of(chunk)
        existing = set(db.session.scalars(sa.select(Case.id).where(Case.id.in_(chunk))))
        changed: list[tuple[int, dict[Key, int] | None]] = []
        for cid in chunk:
            before = old.get(cid, {})
            after = new.get(cid, {}) if cid in existing else {}
            for key in before.keys() | after.keys():
                delta[key] += after.get(key, 0) - before.get(key, 0)
            if cid not in existing:
                if cid in old:
                    changed.append((cid, None))  # the case is gone: so are its facts
            elif cid not in old or before != after:
                changed.append((cid, after))
        gone = [cid for cid, facts in changed if facts is None]
        if gone:
            db.session.execute(sa.delete(CaseFacts).where(CaseFacts.case_id.in_(gone)))
        rows = [{"case_id": cid, "facts": _encode(facts)} for cid, facts in changed if facts is not None]
        if rows:
            insert = _insert(CaseFacts)
            db.session.execute(insert.on_conflict_do_update(index_elements=["case_id"],
                                                            set_={"facts": insert.excluded.facts}), rows)
    _add(delta)


def _insert(model) -> Any:
    """INSERT … ON CONFLICT, which PostgreSQL and SQLite both have (each dialect builds its own)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def _add(delta: dict[Key, int]) -> None:
    """Add a difference of leaf facts to ``unit_facts``, for each unit and all its parents (one statement)."""
    delta = {k: n for k, n in delta.items() if n}
    if not delta:
        return
    parents = _ancestors((unit for unit, _m, _k in delta), db.session)
    rolled: dict[Key, int] = defaultdict(int)
    for (unit, month, metric), n in delta.items():
        for up in parents.get(unit, [unit]):
            rolled[(up, month, metric)] += n
    rows = [{"unit_id": u, "month": m, "metric": k, "n": n} for (u, m, k), n in sorted(rolled.items()) if n]
    if not rows:
        return
    insert = _insert(UnitFacts)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["unit_id", "month", "metric"], set_={"n": UnitFacts.n + insert.excluded.n}), rows)


# --- keeping them up to date -----------------------------------------------------------------------

def touch(case_ids: Iterable[int | None]) -> None:
    """Mark cases whose facts a bulk statement changed (the ORM's changes are found by themselves)."""
    MARKS.mark(db.session, "cases", case_ids)


def _case_ids(objects: Iterable[object]) -> Iterator[tuple[str, int | None]]:
    for obj in objects:
        if isinstance(obj, Case):
            yield "cases", obj.id
        elif isinstance(obj, Order | CaseEvent | ChaseStep | FollowUp):
            yield "cases", obj.case_id
        elif isinstance(obj, CaseLink):
            yield "cases", obj.case_id
            yield "cases", obj.other_id


def _keep(session: Session, marks: dict[str, set[int]]) -> None:
    refresh(marks["cases"])


MARKS = CommitMarks("facts", _case_ids, _keep)


def init_app(app) -> None:
    """Keep the summary rows with every commit of the app's sessions (installed once per process)."""
    MARKS.install()


# --- from scratch ----------------------------------------------------------------------------------

def _ancestry(units: Any = None) -> Any:
    """SQL: (unit_id, ancestor_id) for every unit (or those of ``units``, a select of ids), itself and each parent."""
    base = sa.select(Unit.id.label("unit_id"), Unit.id.label("ancestor_id"), Unit.parent_id.label("next_id"))
    if units is not None:
        base = base.where(Unit.id.in_(units))
    tree = base.cte("ancestry", recursive=True)
    up = sa.orm.aliased(Unit)
    tree = tree.union_all(sa.select(tree.c.unit_id, up.id, up.parent_id).join(up, up.id == tree.c.next_id))
    return tree


def rebuild(session: AnySession | None = None, batch: int = 20_000) -> dict[str, int]:
    """Compute ``unit_facts`` and ``case_facts`` from scratch (in the caller's transaction)."""
    session = db.session if session is None else session
    session.execute(sa.delete(UnitFacts))
    session.execute(sa.delete(CaseFacts))
    tree = _ancestry()
    for kind in _kinds():
        leaf = kind.select(by_case=False).cte(f"leaf_{kind.name}")
        parts = [sa.select(tree.c.ancestor_id, leaf.c.month, sa.literal(name, sa.String).label("metric"),
                           sa.func.sum(leaf.c[name]).label("n"))
                 .join(tree, tree.c.unit_id == leaf.c.unit_id)
                 .group_by(tree.c.ancestor_id, leaf.c.month)
                 .having(sa.func.sum(leaf.c[name]) != 0)
                 for name in kind.metrics]
        session.execute(sa.insert(UnitFacts).from_select(["unit_id", "month", "metric", "n"],
                                                             sa.union_all(*parts)))
    cases = 0
    last = 0
    while True:
        ids = list(session.scalars(sa.select(Case.id).where(Case.id > last).order_by(Case.id).limit(batch)))
        if not ids:
            break
        lo, hi = ids[0], ids[-1]
        found = facts_of((lo, hi), session)
        session.execute(sa.insert(CaseFacts), [{"case_id": cid, "facts": _encode(found.get(cid, {}))}
                                                  for cid in ids])
        cases += len(ids)
        last = hi
    units = session.scalar(sa.select(sa.func.count()).select_from(UnitFacts))
    MARKS.forget(session)
    return {"cases": cases, "unit_facts": int(units or 0)}


def drift(limit: int = 20) -> list[str]:
    """Where the summary rows differ from the data (empty when they agree): the tests' check."""
    problems: list[str] = []
    ids = list(db.session.scalars(sa.select(Case.id)))
    fresh = facts_of(ids) if ids else {}
    stored = {cid: _decode(text) for cid, text in db.session.execute(sa.select(CaseFacts.case_id, CaseFacts.facts))}
    for cid in sorted(set(ids) | stored.keys()):
        if fresh.get(cid, {}) != stored.get(cid, {}) or (cid in ids) != (cid in stored):
            problems.append(f"case {cid}: stored {stored.get(cid)} != computed {fresh.get(cid, {})}")
    leaf: dict[Key, int] = defaultdict(int)
    for facts in fresh.values():
        for key, n in facts.items():
            leaf[key] += n
    parents = _ancestors({u for u, _m, _k in leaf}, db.session) if leaf else {}
    expected: dict[Key, int] = defaultdict(int)
    for (unit, month, metric), n in leaf.items():
        for up in parents.get(unit, [unit]):
            expected[(up, month, metric)] += n
    have = {(u, m, k): n for u, m, k, n in db.session.execute(
        sa.select(UnitFacts.unit_id, UnitFacts.month, UnitFacts.metric, UnitFacts.n)) if n}
    for key in sorted(expected.keys() | have.keys()):
        if expected.get(key, 0) != have.get(key, 0):
            problems.append(f"unit_facts {key}: stored {have.get(key, 0)} != computed {expected.get(key, 0)}")
    return problems[:limit] if limit else problems
