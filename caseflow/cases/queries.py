"""Read-side queries for officials: inbox, case list, order chains, unit search.

Every list starts from ``access.visible_cases`` / ``access.visible_orders``, so
a list can never show what the detail page would refuse (one access rule).
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased, selectinload

from caseflow.cases import access, permissions, search_tokens
from caseflow.deadlines import status
from caseflow.errors import InvalidInput, NotInJurisdiction
from caseflow.extensions import db
from caseflow.identity import InvalidNumber, normalise, parse_id_number, parse_phone
from caseflow.models import (
    Attachment,
    Case,
    CaseState,
    Category,
    ChaseStep,
    ExtensionRequest,
    ExtensionState,
    Order,
    OrderKind,
    OrderPause,
    OrderState,
    Person,
    SavedFilter,
    Unit,
    UnitKind,
    User,
    case_schools,
)
from caseflow.security import crypto
from caseflow.sqlfunctions import sql_function
from caseflow.timeutil import local_midnight, local_today

PER_PAGE = 20
# The inbox is worked down from the top: a page holds more than a screen (25+ rows at 1366×768).
PER_PAGE_OF = {"cases": PER_PAGE, "orders": PER_PAGE, "inbox": 50}
UNIT_SEARCH_LIMIT = 20
# A list counts its rows per state up to this many; above it the page says "more than" (the count stays cheap).
COUNT_CAP = 2_000
QUERY_MAX = 60

LISTS = ("cases", "orders", "inbox")
SORTS = {
    "cases": {"due": "按办理时限（紧急的在前）", "received": "按收到时间（新的在前）", "number": "按编号"},
    "orders": {"due": "按时限（紧急的在前）", "sent": "按交办时间（新的在前）", "number": "按编号"},
}
SORTS["inbox"] = SORTS["orders"]

_ORDER_NUMBER = re.compile(r"^[A-Z]{2}\d{0,4}(-\d*)?$")


# --- the filters of the lists: one parser, used by the pages and the exports -------------------

def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "y", "yes", "on", "true")


def _parse_date(value: str, field_name: str, label: str, errors: dict[str, str]) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field_name] = f"{label}应为年-月-日，如2026-12-04"
        return None


@dataclass
class ListFilters:
    """What was asked of a list (/cases, /orders, /inbox), parsed and checked field by field.

    The URL contract: ``q`` (a case or order number, exact or prefix; a name, by substring;
    an ID number, registry number or phone, exactly), ``school`` (name or code), ``unit``
    (a unit code: its subtree), ``category``, ``state``, ``kind`` (orders), ``from`` / ``to``
    (received, YYYY-MM-DD), ``overdue=1``, ``due_today=1``, ``escalated=1``, ``sort``, ``page``;
    the inbox adds ``extension=1`` (extension requests to decide), the case list ``mine=1``
    (the user's unit is responsible).  A value that is not understood is dropped and
    explained in ``errors`` (field → Chinese message); the list is shown without it.
    """

    list: str = "cases"
    q: str = ""
    school: str = ""
    unit: str = ""
    category: Category | None = None
    state: CaseState | OrderState | None = None
    kind: OrderKind | None = None
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool = False
    due_today: bool = False
    escalated: bool = False
    extension: bool = False
    mine: bool = False
    sort: str = "due"
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Mapping[str, str], list_name: str = "cases") -> ListFilters:
        """Parse a query string; never raises for what a user could type."""
        if list_name not in LISTS:
            raise ValueError(f"unknown list {list_name!r}")
        errors: dict[str, str] = {}
        f = cls(list=list_name, errors=errors)
        f.q = " ".join((args.get("q") or args.get("number") or "").split())
        if len(f.q) > QUERY_MAX:
            errors["q"] = f"搜索内容不能超过{QUERY_MAX}个字"
            f.q = f.q[:QUERY_MAX]
        f.school = (args.get("school") or "").strip()[:100]
        f.unit = (args.get("unit") or "").strip()[:20]
        states: type[CaseState] | type[OrderState] = CaseState if list_name == "cases" else OrderState
        for name, enum_cls, message in (("category", Category, "没有这个问题类别"),
                                        ("state", states, "没有这个状态"),
                                        ("kind", OrderKind, "没有这个单据类型")):
            value = (args.get(name) or "").strip()
            if not value or (name == "kind" and list_name == "cases"):
                continue
            try:
                setattr(f, name, enum_cls(value))
            except ValueError:
                errors[name] = message
        f.received_from = _parse_date(args.get("from", ""), "from", "开始日期", errors)
        f.received_to = _parse_date(args.get("to", ""), "to", "结束日期", errors)
        if f.received_from and f.received_to and f.received_from > f.received_to:
            errors["to"] = "结束日期不能早于开始日期"
            f.received_to = None
        f.overdue, f.due_today = _flag(args.get("overdue")), _flag(args.get("due_today"))
        f.escalated = _flag(args.get("escalated"))
        f.extension = list_name == "inbox" and _flag(args.get("extension"))
        f.mine = list_name == "cases" and _flag(args.get("mine"))
        sort = (args.get("sort") or "").strip()
        if sort and sort not in SORTS[list_name]:
            errors["sort"] = "没有这种排序方式"
        f.sort = sort if sort in SORTS[list_name] else "due"
        raw_page = (args.get("page") or "1").strip()
        if raw_page.isdigit() and len(raw_page) < 10:
            f.page = max(int(raw_page), 1)
        else:
            errors["page"] = "页码应为正整数，已显示第1页"
        return f

    def to_args(self, **changes: object) -> dict[str, str]:
        """The query string's values (only those set), as ``from_args`` reads them; ``changes`` override."""
        out: dict[str, str] = {
            "q": self.q, "school": self.school, "unit": self.unit,
            "category": self.category.value if self.category else "",
            "state": self.state.value if self.state else "",
            "kind": self.kind.value if self.kind else "",
            "from": self.received_from.isoformat() if self.received_from else "",
            "to": self.received_to.isoformat() if self.received_to else "",
            "overdue": "1" if self.overdue else "", "due_today": "1" if self.due_today else "",
            "escalated": "1" if self.escalated else "", "extension": "1" if self.extension else "",
            "mine": "1" if self.mine else "", "sort": "" if self.sort == "due" else self.sort,
            "page": str(self.page) if self.page > 1 else "",
        }
        for key, value in changes.items():
            out[key] = "" if value is None or value is False else ("1" if value is True else str(value))
        return {k: v for k, v in out.items() if v}

    def query_string(self, **changes: object) -> str:
        return urlencode(self.to_args(**changes))

    @property
    def savable(self) -> bool:
        """A search for a person's number is not saved: saved filters are not encrypted."""
        return not _hashes(self.q)

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (paging and order aside)."""
        return bool(set(self.to_args()) - {"sort", "page"})


# --- what the filters mean in SQL ---------------------------------------------------------------

def _hashes(q: str) -> list[str]:
    """Keyed lookup hashes of ``q`` read as an ID number, a registry number or a phone (whichever it can be)."""
    values: list[str] = []
    with contextlib.suppress(InvalidNumber):
        values.append(parse_id_number(q).number)
    normal = normalise(q)
    if len(normal) == 19 and normal[0] in "GJL":
        values.append(normal)
    with contextlib.suppress(InvalidNumber):
        values.append(parse_phone(q))
    return [h for h in dict.fromkeys(crypto.lookup_hash(v) for v in values) if h]


# Up to this many ids go to PostgreSQL as a literal array, which the planner estimates element by element: the
# plan fits the rows (it hashes the access rule's subqueries once instead of asking them for each row), and
# planning costs ~10 ms for 4,000 ids.  Above it (95 ms of planning for 40,000 ids, which one character finds at
# 1,000,000 cases) they go as one value the planner does not look into.
_LITERAL_IDS = 5_000
# At most this many matching people are fetched to be handed back as ids (an ID number or phone finds a few; a
# one-character name on SQLite ~2 % of the people); more stay in the database.
_PEOPLE_IN_HAND = 100_000


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _one_of(column, ids: list[int]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``ids`` (read through its index): on PostgreSQL one array parameter, else ``IN``."""
    if not ids:
        return sa.false()
    if not _on_postgresql():
        return column.in_(ids)
    int_array = postgresql.ARRAY(sa.Integer)
    literal = sa.bindparam(None, ids, type_=int_array)
    if len(ids) <= _LITERAL_IDS:
        return column == sa.any_(literal)
    # An InitPlan; the cast keeps ANY an array expression (``ANY (subquery)`` would compare with each row).
    return column == sa.any_(sa.cast(sa.select(literal).scalar_subquery(), int_array))


def _people(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """The case's complainant or student is a person matching ``condition``.

    The matching persons (an ID number's, a phone's; a name's on SQLite, which has no search tokens) are read
    once, first, and the cases are reached from their ids through the complainant and student indexes: the list
    never walks every case in scope (measured: a two-character name in a county at 1,000,000 cases took 9 s that
    way), and the count and the page do not read the persons again.
    """
    # SQLite takes at most 32,766 values in one statement, and the ids may be sent twice.
    in_hand = _PEOPLE_IN_HAND if _on_postgresql() else min(_PEOPLE_IN_HAND, 10_000)
    ids = list(db.session.scalars(sa.select(Person.id).where(condition).limit(in_hand + 1)))
    if len(ids) > in_hand:  # a very common character: the database keeps them (a hashed subquery)
        people = sa.select(Person.id).where(condition)
        return sa.or_(Case.complainant_id.in_(people), Case.student_id.in_(people))
    return sa.or_(_one_of(Case.complainant_id, ids), _one_of(Case.student_id, ids))


def _is_name(q: str) -> bool:
    """Whether ``q`` is searched as a name: not a case or order number, nor an ID number, registry number or
    phone (the one place that tells them apart, for the search and for the access rule's shape)."""
    return bool(q) and not _ORDER_NUMBER.match(q.upper()) and not _hashes(q)


def _search(q: str, number_column) -> sa.ColumnElement[bool] | None:
    """``q`` as a number prefix, an exact ID number / registry number / phone, or a name substring (through the
    cases' search tokens on PostgreSQL)."""
    if not q:
        return None
    if _is_name(q):
        return _name_in_tokens(q) if search_tokens.in_use() else _people(Person.name.contains(q, autoescape=True))
    hashes = _hashes(q)
    if hashes:
        return _people(sa.or_(Person.id_number_hash.in_(hashes), Person.phone_hash.in_(hashes),
                              Person.registry_no_hash.in_(hashes)))
    return number_column.startswith(q.upper(), autoescape=True)


def _by_tokens(q: str) -> bool:
    """Whether ``q`` is searched as a name through the cases' search tokens (then the access rule is asked
    through them too, ``access.TOKENS``: one index scan for both)."""
    return search_tokens.in_use() and _is_name(q)


def _name_in_tokens(q: str) -> sa.ColumnElement[bool]:
    """The case's complainant or student has ``q`` in their name: the cases whose tokens hold its characters
    (``ix_cases_search_tokens``), then, for more than one character, the substring on those few."""
    has_characters = Case.search_tokens.contains(sa.literal(search_tokens.name_tokens(q), Case.search_tokens.type))
    if len(q) == 1:
        return has_characters
    in_a_row = sa.exists().where(Person.id.in_([Case.complainant_id, Case.student_id]),
                                 Person.name.contains(q, autoescape=True))
    return sa.and_(has_characters, in_a_row)


def _case_number_or(user: User, q: str, column) -> sa.ColumnElement[bool] | None:
    """For orders: ``q`` matches the order's own number or anything of its case.

    A name is looked for among the cases ``user`` may see (their search tokens, one index scan): an order they
    may see is always of such a case, as an order goes from a unit to one directly below it (measured at
    1,000,000 cases: a county's orders searched for 王 tested each order of ~19,000 cases, 860 ms).
    """
    of_case = _search(q, Case.number)
    if of_case is None:
        return None
    cases = sa.select(Case.id).where(of_case)
    if _by_tokens(q):
        cases = cases.where(access.case_visibility(user, shape=access.TOKENS))
    in_cases = Order.case_id.in_(cases)
    own = _search(q, column) if _ORDER_NUMBER.match(q.upper()) else None  # a number: the order's own too
    return in_cases if own is None else sa.or_(own, in_cases)


def _unit_ids(text: str) -> sa.Select | None:
    """The ids of the unit a code (or exact name) names and of every unit below it; None if none matches."""
    unit = db.session.scalars(sa.select(Unit).where(sa.or_(Unit.code == text, Unit.name == text))
                              .order_by(Unit.code).limit(1)).first()
    if unit is None:
        return None
    return sa.select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))


def _school_cases(text: str) -> sa.Select:
    """Cases concerning a school whose code is ``text`` or whose name contains it."""
    schools = sa.select(Unit.id).where(Unit.kind == UnitKind.SCHOOL,
                                       sa.or_(Unit.code == text, Unit.name.contains(text, autoescape=True)))
    return sa.select(case_schools.c.case_id).where(case_schools.c.unit_id.in_(schools))


def _received(f: ListFilters) -> list[sa.ColumnElement[bool]]:
    """Received on or after ``from`` and on or before ``to``: whole days in Asia/Shanghai."""
    out = []
    if f.received_from:
        out.append(Case.received_at >= local_midnight(f.received_from))
    if f.received_to:
        out.append(Case.received_at < local_midnight(f.received_to + timedelta(days=1)))
    return out


def _order_escalated() -> sa.ColumnElement[bool]:
    """An escalation (督办) of the order's current deadline is still waiting (``chase.queries.still_open`` in SQL)."""
    return sa.and_(status.completion_running(Order), sa.exists().where(
        ChaseStep.order_id == Order.id, ChaseStep.step == "escalate", ChaseStep.due_on == Order.due_on))


def _case_escalated() -> sa.ColumnElement[bool]:
    """The case's own action, or an order of it, was escalated and still waits."""
    o = aliased(Order)
    return sa.or_(
        sa.and_(status.action_running(Case), sa.exists().where(
            ChaseStep.case_id == Case.id, ChaseStep.order_id.is_(None), ChaseStep.step == "escalate",
            ChaseStep.due_on == Case.action_due_on)),
        sa.exists().where(o.case_id == Case.id, status.completion_running(o), sa.exists().where(
            ChaseStep.order_id == o.id, ChaseStep.step == "escalate", ChaseStep.due_on == o.due_on)),
    )


def _case_overdue(today) -> sa.ColumnElement[bool]:
    """The responsible unit is late, or an open order of the current round is."""
    o = aliased(Order)
    return sa.or_(
        status.action_overdue(Case, today),
        sa.exists().where(o.case_id == Case.id, o.round == Case.round, status.order_overdue(o, today)),
    )


def _case_due_today(today) -> sa.ColumnElement[bool]:
    o = aliased(Order)
    return sa.or_(
        status.action_due_today(Case, today),
        sa.exists().where(o.case_id == Case.id, o.round == Case.round, status.order_due_today(o, today)),
    )


class _Unknown(Exception):
    """A filter names nothing (an unknown unit): the list is empty, and the field says why."""


def _common(user: User, f: ListFilters, number_column, *, unit_column, today) -> list[sa.ColumnElement[bool]]:
    """Conditions shared by the case and order lists (``unit_column``: whose subtree the unit filter means)."""
    out: list[sa.ColumnElement[bool]] = []
    is_case = number_column is Case.number
    search = _search(f.q, Case.number) if is_case else _case_number_or(user, f.q, Order.number)
    if search is not None:
        out.append(search)
    case_id = Case.id if is_case else Order.case_id
    if f.school:
        out.append(case_id.in_(_school_cases(f.school)))
    if f.unit:
        ids = _unit_ids(f.unit)
        if ids is None:
            f.errors["unit"] = f"找不到代码为“{f.unit}”的单位"
            raise _Unknown
        out.append(unit_column.in_(ids))
    if f.category:
        out.append(Case.category == f.category if is_case
                   else Order.case_id.in_(sa.select(Case.id).where(Case.category == f.category)))
    received = _received(f)
    if received:
        out.append(sa.and_(*received) if is_case else Order.case_id.in_(sa.select(Case.id).where(*received)))
    return out


def case_conditions(user: User, f: ListFilters, *, with_state: bool = True) -> list[sa.ColumnElement[bool]]:
    """Every condition of the case list except visibility (which ``case_list`` starts from)."""
    today = local_today()
    out = _common(user, f, Case.number, unit_column=Case.responsible_unit_id, today=today)
    if f.mine:
        out.append(Case.responsible_unit_id == user.unit_id)
    if with_state and f.state:
        out.append(Case.state == f.state)
    if f.overdue:
        out.append(_case_overdue(today))
    if f.due_today:
        out.append(_case_due_today(today))
    if f.escalated:
        out.append(_case_escalated())
    return out


def inbox_mine(user: User) -> sa.ColumnElement[bool]:
    """Orders waiting for ``user``'s unit: to sign, to work, to review, extensions to decide."""
    return sa.or_(
        sa.and_(Order.receiving_unit_id == user.unit_id, status.completion_running(Order)),
        sa.and_(permissions.reviews(user, Order),
                sa.or_(Order.state == OrderState.REPORTED,
                       sa.and_(status.completion_running(Order), sa.or_(_pending_ext(), _pending_pause())))),
        sa.and_(status.review_running(Order), Order.return_reviewer_id == user.unit_id),
    )


def _pending_ext() -> sa.ColumnElement[bool]:
    return sa.exists().where(ExtensionRequest.order_id == Order.id, ExtensionRequest.state == ExtensionState.PENDING)


def _pending_pause() -> sa.ColumnElement[bool]:
    return sa.exists().where(OrderPause.order_id == Order.id, OrderPause.state == ExtensionState.PENDING)


def order_conditions(user: User, f: ListFilters, *, with_state: bool = True) -> list[sa.ColumnElement[bool]]:
    """Every condition of the order list or the inbox except visibility."""
    today = local_today()
    out = _common(user, f, Order.number, unit_column=Order.receiving_unit_id, today=today)
    if f.list == "inbox":
        out.append(inbox_mine(user))
    if f.kind:
        out.append(Order.kind == f.kind)
    if with_state and f.state:
        out.append(Order.state == f.state)
    if f.overdue:
        out.append(status.order_overdue(Order, today))
    if f.due_today:
        out.append(status.order_due_today(Order, today))
    if f.escalated:
        out.append(_order_escalated())
    if f.extension:
        out.append(sa.and_(permissions.reviews(user, Order), status.completion_running(Order), _pending_ext()))
    return out


def _case_sorted(query: sa.Select, sort: str) -> sa.Select:
    if sort == "number":
        return query.order_by(Case.number)
    if sort == "received":
        return query.order_by(Case.received_at.desc(), Case.id.desc())
    return query.order_by(Case.action_due_on.asc().nulls_last(), Case.id.desc())


def _order_sorted(query: sa.Select, sort: str) -> sa.Select:
    if sort == "number":
        return query.order_by(Order.number)
    if sort == "sent":
        return query.order_by(Order.sent_at.desc(), Order.id.desc())
    return query.order_by(status.order_urgency(Order).asc().nulls_last(), Order.id.desc())


# --- the lists -------------------------------------------------------------------------------------

@dataclass
class ListPage:
    """One page of a list with its counts: per state (clickable), the total, and whether it was capped."""

    filters: ListFilters
    items: list
    total: int
    capped: bool
    state_counts: list[tuple[CaseState | OrderState, int]]
    per_page: int = PER_PAGE
    counts_capped: bool = False  # the counts per state saw only the first COUNT_CAP rows
    uncounted: tuple = ()  # states listed under their own chip only, not in 全部 (merged cases)

    @property
    def page(self) -> int:
        return self.filters.page

    @property
    def count_cap(self) -> int:
        return COUNT_CAP

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


# SQL: the ids of a group as one value (PostgreSQL's array_agg; elsewhere group_concat, read back by _id_list_of).
_id_list = sql_function("id_list", sa.types.NullType(), "array_agg({0})", "group_concat({0})")


def _id_list_of(value) -> list[int]:
    return value if isinstance(value, list) else [int(i) for i in str(value).split(",") if i]


def _state_counts(base: sa.Select, state_column, states, id_column) -> tuple[dict, bool, dict]:
    """Rows per state of ``base`` (one GROUP BY over at most ``COUNT_CAP`` + 1 rows), whether it was capped,
    and the ids of those rows per state."""
    inner = (base.with_only_columns(state_column.label("state"), id_column.label("id")).order_by(None)
             .limit(COUNT_CAP + 1).subquery())
    rows = db.session.execute(
        sa.select(inner.c.state, sa.func.count(), _id_list(inner.c.id)).group_by(inner.c.state)).all()
    counts = {states(s): n for s, n, _ids in rows}
    return counts, sum(counts.values()) > COUNT_CAP, {states(s): _id_list_of(ids) for s, _n, ids in rows}


def _capped_count(query: sa.Select) -> int:
    """Rows of ``query``, counted up to ``COUNT_CAP`` + 1."""
    inner = query.with_only_columns(sa.literal(1).label("one")).order_by(None).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def _page(f: ListFilters, base: sa.Select, sorted_query: sa.Select, state_column, states, shown,
          counted: tuple | None, id_column, sorted_ids: Callable[[list[int]], sa.Select]) -> ListPage:
    """``base``: the list's rows in the shape that counts them; ``sorted_query``: the listed ones, sorted, to
    page through; ``sorted_ids(ids)``: the same without the search and filters, narrowed to these ids.

    When the counts saw every row (at most ``COUNT_CAP``), they brought the ids of the rows back, and the page
    reads those rows alone instead of asking the search and filters again (measured: a one-character name
    search at 1,000,000 cases evaluated its ~38,000 candidates twice, ~400 ms each).  The access rule and the
    state are asked again of them: a case moved out of reach or on to another state since the count is not
    listed.
    """
    counts, counts_capped, ids = _state_counts(base, state_column, states, id_column)
    if not f.state and counted is not None:  # the rows listed without a state chosen (merged cases: their own chip)
        counts_listed = sum(n for s, n in counts.items() if s in counted)
    else:
        counts_listed = sum(counts.values())
    if f.state and counts_capped:  # the chips saw only the first rows: count the chosen state itself
        found = _capped_count(sorted_query)
        total, capped = min(found, COUNT_CAP), found > COUNT_CAP
    else:
        total = min(counts.get(f.state, 0) if f.state else counts_listed, COUNT_CAP)
        capped = counts_capped
    per_page = PER_PAGE_OF[f.list]
    f.page = min(f.page, max((total + per_page - 1) // per_page, 1))  # past the end: the last page
    if not counts_capped:
        sorted_query = sorted_ids([i for state_ids in ids.values() for i in state_ids])
    items = list(db.session.scalars(sorted_query.limit(per_page).offset((f.page - 1) * per_page)).unique())
    uncounted = tuple(s for s in shown if counted is not None and s not in counted)
    return ListPage(f, items, total, capped, [(s, counts.get(s, 0)) for s in shown], per_page, counts_capped,
                    uncounted)


def _list(f: ListFilters, visible: Callable[..., sa.Select], conditions, state_column, states, shown, sort,
          *options, counted: tuple | None = None) -> ListPage:
    """A list's page: ``visible(shape=...)`` (the access rule) narrowed by ``conditions()``, counted per state,
    sorted.

    Without a state chosen it lists the ``counted`` states only (all when None).  The page asks the rule as sets
    (``access.SET``); the counts read a narrow scope through its indexes (``access.INDEX``) unless a search or a
    school names the rows: those few rows then drive, and each is tested against the sets (measured at 100,000
    cases: a county's counts 14 ms by index against 69 ms scanning, but its one-character name search 193 ms
    against 60 ms).  A name search on PostgreSQL asks the rule of cases through their search tokens
    (``access.TOKENS``), which one index scan reads with the name's characters (measured at 1,000,000 cases: a
    city's search for 王 30 ms in-process, from 650–1,000 ms testing each of ~38,000 candidates).
    """
    try:
        narrowed = conditions()
    except _Unknown:
        return ListPage(f, [], 0, False, [(s, 0) for s in shown], PER_PAGE_OF[f.list])
    tokens = _by_tokens(f.q)
    listed = visible(shape=access.TOKENS if tokens else access.SET)
    if f.state:
        listed = listed.where(state_column == f.state)
    elif counted is not None:
        listed = listed.where(state_column.in_(counted))
    counting = visible(shape=access.TOKENS if tokens else access.SET if f.q or f.school else access.INDEX
                       ).where(*narrowed)
    id_column = state_column.class_.id

    def sorted_ids(ids: list[int]) -> sa.Select:
        return sort(listed.where(_one_of(id_column, ids)).options(*options), f.sort)

    query = listed.where(*narrowed)

    return _page(f, counting, sort(query.options(*options), f.sort), state_column, states, shown, counted,
                 id_column, sorted_ids)


def case_list(user: User, f: ListFilters) -> ListPage:
    """The cases ``user`` may see that match ``f``: one page, sorted, with the counts per state.

    Merged repeat complaints are counted once, as their primary: listed under their own state chip only.
    """
    return _list(f, partial(access.visible_cases, user), lambda: case_conditions(user, f, with_state=False),
                 Case.state, CaseState, CaseState, _case_sorted,
                 selectinload(Case.complainant), selectinload(Case.student), selectinload(Case.responsible_unit),
                 counted=CaseState.COUNTED)


def order_list(user: User, f: ListFilters) -> ListPage:
    """The orders ``user`` may see (or, for the inbox, must act on) matching ``f``: one page with counts."""
    return _list(f, partial(access.visible_orders, user), lambda: order_conditions(user, f, with_state=False),
                 Order.state, OrderState, OrderState.OPEN if f.list == "inbox" else OrderState, _order_sorted,
                 selectinload(Order.case).load_only(Case.number, Case.category, Case.student_id)
                 .selectinload(Case.student).load_only(Person.name),
                 selectinload(Order.issuing_unit), selectinload(Order.receiving_unit),
                 # inbox_task asks each row for its active child: load them with the page, not one query a row
                 *((selectinload(Order.children),) if f.list == "inbox" else ()))


def case_export_query(user: User, f: ListFilters) -> sa.Select:
    """Every case of the list (no paging), in the list's order: for exports (merged ones as the list has them)."""
    try:
        listed = () if f.state else (Case.state.in_(CaseState.COUNTED),)
        return _case_sorted(access.visible_cases(user).where(*case_conditions(user, f), *listed), f.sort)
    except _Unknown:
        return access.visible_cases(user).where(sa.false())


def order_export_query(user: User, f: ListFilters) -> sa.Select:
    """Every order of the list (or inbox) in its order, no paging: for exports."""
    try:
        return _order_sorted(access.visible_orders(user).where(*order_conditions(user, f)), f.sort)
    except _Unknown:
        return access.visible_orders(user).where(sa.false())


@dataclass(frozen=True)
class InboxCounts:
    """The inbox's counts bar: what is late, due today, to sign, to review, extensions to decide."""

    overdue: int
    due_today: int
    to_sign: int
    to_review: int
    extensions: int


def inbox_counts(user: User) -> InboxCounts:
    """The counts bar of ``user``'s inbox, in one query."""
    today = local_today()
    count = sa.func.count(Order.id).filter
    row = db.session.execute(
        sa.select(count(status.order_overdue(Order, today)), count(status.order_due_today(Order, today)),
                  count(sa.and_(Order.receiving_unit_id == user.unit_id, status.sign_running(Order))),
                  count(sa.and_(permissions.reviews(user, Order), Order.state == OrderState.REPORTED)),
                  count(sa.and_(permissions.reviews(user, Order), status.completion_running(Order), _pending_ext())))
        .where(access.order_visibility(user), inbox_mine(user))
    ).one()
    return InboxCounts(*row)


def inbox_task(user: User, order: Order) -> str:
    """What the user's unit has to do about this inbox row, in words."""
    if order.receiving_unit_id == user.unit_id and status.completion_running(order):
        child = order.active_child
        if order.state is OrderState.RELAYED and child is not None and child.state is OrderState.REPORTED:
            return "下级已报送，待审核后上报"
        return {OrderState.SENT: "待签收", OrderState.SIGNED: "待办理",
                OrderState.RELAYED: "等待下级报送"}[order.state]
    if order.state is OrderState.REPORTED:
        return "待审核" if order.parent_id is None else "待审核（在上一级单中报送即通过）"
    if order.state is OrderState.RETURN_PENDING:
        return "待审核退回申请" if order.return_reviewer_id == order.issuing_unit_id else "待裁定退回争议"
    if permissions.pending_pause(order) is not None:
        return "待审批中止计时申请"
    return "待审批延期申请"


# --- saved filters -------------------------------------------------------------------------------

SAVED_FILTER_MAX = 30


def saved_filters(user: User) -> list[SavedFilter]:
    """The user's saved filters, by name."""
    return list(db.session.scalars(sa.select(SavedFilter).where(SavedFilter.user_id == user.id)
                                   .order_by(SavedFilter.list, SavedFilter.name).limit(SAVED_FILTER_MAX)))


def save_filter(user: User, name: str, f: ListFilters) -> SavedFilter:
    """Save ``f`` (without its page) under ``name``; the same name again replaces it."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("请给筛选条件起个名字", field="name")
    if len(name) > 40:
        raise InvalidInput("名称不能超过40个字", field="name")
    if not f.savable:
        raise InvalidInput("按身份证号、学籍号或电话的搜索不能保存（保存的筛选条件不加密）", field="name")
    query = f.query_string(page=None)
    existing = db.session.scalars(sa.select(SavedFilter).where(SavedFilter.user_id == user.id,
                                                               SavedFilter.name == name)).first()
    if existing is None:
        count = db.session.scalar(sa.select(sa.func.count()).where(SavedFilter.user_id == user.id)) or 0
        if count >= SAVED_FILTER_MAX:
            raise InvalidInput(f"最多保存{SAVED_FILTER_MAX}个筛选条件，请先删除不用的", field="name")
        existing = SavedFilter(user_id=user.id, name=name, list=f.list, query=query)
        db.session.add(existing)
    else:
        existing.list, existing.query = f.list, query
    db.session.flush()
    return existing


def delete_filter(user: User, filter_id: int) -> bool:
    """Delete one of the user's saved filters (another user's id deletes nothing)."""
    found = db.session.scalars(sa.select(SavedFilter).where(SavedFilter.id == filter_id,
                                                            SavedFilter.user_id == user.id)).first()
    if found is None:
        return False
    db.session.delete(found)
    return True


# --- the case page ---------------------------------------------------------------------

def order_chains(user: User, case: Case) -> list[tuple[Order, int]]:
    """The orders of the case ``user`` may see, each chain (root, its relays) in order, with depths."""
    visible = access.case_orders_for(user, case)
    ids = {o.id for o in visible}
    rows: list[tuple[Order, int]] = []

    def walk(order: Order, depth: int) -> None:
        rows.append((order, depth))
        for child in order.children:
            if child.id in ids:
                walk(child, depth + 1)

    for order in visible:
        if order.parent_id not in ids:
            walk(order, 0)
    return rows


def visible_events(user: User, case: Case) -> list:
    """The case's timeline, without moves of orders the user may not see."""
    ids = {o.id for o in access.case_orders_for(user, case)}
    return [e for e in case.events if e.order_id is None or e.order_id in ids]


def visible_attachments(user: User, case: Case) -> list[Attachment]:
    ids = {o.id for o in access.case_orders_for(user, case)}
    return [a for a in case.attachments if a.order_id is None or a.order_id in ids]


def get_attachment(user: User, public_id: str) -> Attachment:
    """An attachment reachable through a case (and order) the user may see, else 404."""
    att = db.session.scalars(
        sa.select(Attachment).join(Case, Case.id == Attachment.case_id)
        .where(Attachment.public_id == public_id, access.case_visibility(user),
               sa.or_(Attachment.order_id.is_(None),
                      sa.exists().where(Order.id == Attachment.order_id, access.order_visibility(user))))
    ).first()
    if att is None:
        raise NotInJurisdiction("没有找到该附件，或您无权查看。")
    return att


def order_neighbours(user: User, order: Order) -> tuple[Order | None, list[Order]]:
    """The hop above and the hops below ``order`` that ``user`` may see."""
    ids = {o.id for o in access.case_orders_for(user, order.case)}
    parent = order.parent if order.parent_id in ids else None
    return parent, [c for c in order.children if c.id in ids]


# --- units -----------------------------------------------------------------------------

def suggested_children(case: Case, parent: Unit) -> list[Unit]:
    """Direct children of ``parent`` on the way down to the case's schools (they come first)."""
    wanted: list[str] = []
    for school in case.schools:
        codes = school.ancestor_codes
        if parent.code in codes[:-1]:
            child = codes[codes.index(parent.code) + 1]
            if child not in wanted:
                wanted.append(child)
    if not wanted:
        return []
    found = {u.code: u for u in db.session.scalars(sa.select(Unit).where(Unit.code.in_(wanted)))}
    return [found[c] for c in wanted if c in found]


@dataclass
class UnitScope:
    """Where a chosen unit must lie: under a unit, a direct child of one, schools or not."""

    under: Unit | None = None
    children_of: Unit | None = None
    bureaus_only: bool = False
    describe: str = field(default="")

    def where(self, query: sa.Select) -> sa.Select:
        if self.under is not None:
            query = query.where(Unit.path.startswith(self.under.path, autoescape=True))
        if self.children_of is not None:
            query = query.where(Unit.parent_id == self.children_of.id)
        if self.bureaus_only:
            query = query.where(Unit.kind != UnitKind.SCHOOL)
        return query


def units_to_verify(case: Case) -> list[Unit]:
    """The suggested receivers of a verification order that have no live one in this round yet."""
    busy = {o.receiving_unit_id for o in case.orders
            if o.parent_id is None and o.kind is OrderKind.VERIFICATION and o.round == case.round
            and o.state not in (OrderState.RETURNED, OrderState.CANCELLED)}
    return [u for u in suggested_children(case, case.responsible_unit) if u.id not in busy]


def child_choices(case: Case, parent: Unit, limit: int = 12) -> list[Unit]:
    """Direct children of ``parent`` to offer: the suggested ones first, then some others."""
    suggested = suggested_children(case, parent)
    others = [u for u in search_units("", children_scope(parent), limit) if u not in suggested]
    return suggested + others[:max(limit - len(suggested), 0)]


def unit_by_code(code: str | None) -> Unit | None:
    if not code:
        return None
    return db.session.scalars(sa.select(Unit).where(Unit.code == code.strip())).first()


def search_units(q: str, scope: UnitScope, limit: int = UNIT_SEARCH_LIMIT) -> list[Unit]:
    """Units whose name contains ``q`` or whose code starts with it, inside ``scope``."""
    q = (q or "").strip()
    query = scope.where(sa.select(Unit))
    if q:
        query = query.where(sa.or_(Unit.name.contains(q, autoescape=True),
                                   Unit.code.startswith(q, autoescape=True)))
    return list(db.session.scalars(query.order_by(Unit.code).limit(limit)))


class AmbiguousUnit(InvalidInput):
    """Several units match what was typed; the form offers them to choose from."""

    def __init__(self, text: str, candidates: list[Unit], field: str = "unit"):
        super().__init__(f"有{len(candidates)}个单位与“{text}”相符，请从下面选择一个", field=field)
        self.candidates = candidates


def resolve_unit(text: str | None, scope: UnitScope, *, field: str = "unit") -> Unit:
    """The one unit a typed code or name means (the no-JavaScript unit chooser)."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("请选择单位（可输入单位代码或名称）", field=field)
    base = scope.where(sa.select(Unit))
    exact = list(db.session.scalars(base.where(sa.or_(Unit.code == text, Unit.name == text)).limit(10)))
    if len(exact) == 1:
        return exact[0]
    matches = exact or search_units(text, scope)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousUnit(text, matches, field)
    where = f"（{scope.describe}）" if scope.describe else ""
    raise InvalidInput(f"找不到与“{text}”相符的单位{where}", field=field)


def children_scope(parent: Unit, *, what: str = "直属下级单位") -> UnitScope:
    return UnitScope(children_of=parent, describe=f"须为{parent.name}的{what}")
