"""Who may see what. One place, used by lists, pages, downloads and actions alike.

Visibility: a user sees a case when their unit, or a unit below it, is the
responsible unit or has received an order on it; anything else is 404.
What a user may *do* with what they see is decided in ``caseflow.cases.permissions``.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from caseflow.cases import search_tokens
from caseflow.errors import NotInJurisdiction
from caseflow.extensions import db
from caseflow.models import Case, Order, Role, Unit, UnitKind, User
from caseflow.sqlfunctions import sql_function

CASE_ROLES = (Role.INTAKE, Role.OFFICER, Role.SUPERVISOR)

# The rule's aliases, made once: a new alias gathers its table's columns again on first use (measured: 10 ms a
# page).  Each is used once on any path from a statement down through its subqueries, so none can correlate
# with itself.
_SCOPE_UNIT = aliased(Unit, name="scope_unit")
_ORDER_OF_CASE = aliased(Order, name="order_of_case")
_CASE_OF_ORDER = aliased(Case, name="case_of_order")


# SQL: ``{0}`` is one of the values the subquery ``{1}`` returns.  On PostgreSQL an InitPlan array
# (``= ANY(ARRAY(...))``): inside an OR the planner can still read it through an index (a BitmapOr), where
# ``IN (subquery)`` is only a filter on a scan of every row.
_in_array = sql_function("in_array", sa.Boolean(), "{0} = ANY(ARRAY{1})", "{0} IN {1}")

# The shapes of the rule in SQL (each selects the same rows; tested for every unit of the tree):
ROW = "row"      # EXISTS a row: for one case or order, or a few (the default)
SET = "set"      # a narrow scope as sets of ids, hashed once: for a list's page, whose rows are many
INDEX = "index"  # a narrow scope as id arrays, read through the indexes: for a count of the whole scope
# A case's search tokens hold the id of every unit that may see it (``search_tokens``: the units this rule
# names, kept with every commit), so one GIN index scan reads a name's characters and the scope together.  For
# a name search on PostgreSQL, which narrows the orders to those of the few cases it names: they are asked as
# ROW (a set shape would first read the whole scope).  Elsewhere cases fall back to ROW too.
TOKENS = "tokens"

# Scopes this small (a county and its schools: a few per cent of a province's cases) can be asked as sets of ids:
# their units' and their orders' cases fit in a hash (~50,000 ids at 1,000,000 cases), which PostgreSQL builds
# once and probes for each row, where a correlated EXISTS costs two index reads a row (measured: a county's
# search for 王 at 1,000,000 cases tested ~19,000 candidates at ~20 µs each); or counted through the indexes of
# those ids (a county's counts at 100,000 cases: 14 ms against 69 ms scanning).  Above them the sets hold much of
# the data (a province's 1.9 million orders would not fit the hash), and EXISTS stays, which the planner hashes
# itself when it pays.  One case looked up by number keeps EXISTS at every scope: building the sets would cost
# more than the two index reads.
_NARROW = frozenset({UnitKind.COUNTY, UnitKind.SCHOOL})


def _as_set(user: User, shape: str) -> bool:
    return shape != ROW and user.unit.kind in _NARROW


def _subtree(user: User, unit_column, shape: str) -> sa.ColumnElement[bool]:
    """``unit_column`` refers to a unit at or below the user's unit."""
    if _as_set(user, shape):
        units = sa.select(Unit.id).where(Unit.path.startswith(user.unit.path, autoescape=True)).correlate(None)
        return _in_array(unit_column, units.scalar_subquery()) if shape == INDEX else unit_column.in_(units)
    u = _SCOPE_UNIT
    return sa.exists().where(u.id == unit_column, u.path.startswith(user.unit.path, autoescape=True))


def _among(user: User, id_column, rows: sa.Select, correlated: sa.ColumnElement[bool],
           shape: str) -> sa.ColumnElement[bool]:
    """``id_column`` is one of the ids ``rows`` selects: EXISTS ``rows`` under ``correlated``, or as a set."""
    if _as_set(user, shape):
        rows = rows.correlate(None)
        return _in_array(id_column, rows.scalar_subquery()) if shape == INDEX else id_column.in_(rows)
    return sa.exists(rows.where(correlated))


def case_visibility(user: User, *, shape: str = ROW) -> sa.ColumnElement[bool]:
    """SQL condition: the case is visible to ``user`` (``shape``: ``ROW``, ``SET``, ``INDEX`` or ``TOKENS``,
    above)."""
    if user.role not in CASE_ROLES:
        return sa.false()
    if shape == TOKENS:
        if search_tokens.in_use():
            return Case.search_tokens.contains(sa.literal([user.unit.id], Case.search_tokens.type))
        shape = ROW
    o = _ORDER_OF_CASE
    return sa.or_(
        _subtree(user, Case.responsible_unit_id, shape),
        _among(user, Case.id, sa.select(o.case_id).where(_subtree(user, o.receiving_unit_id, shape)),
               o.case_id == Case.id, shape),
    )


def order_visibility(user: User, *, shape: str = ROW) -> sa.ColumnElement[bool]:
    """SQL condition: the order is visible (its case's responsible unit, issuer or receiver is ours)."""
    if user.role not in CASE_ROLES:
        return sa.false()
    shape = ROW if shape == TOKENS else shape  # a name search: the orders of the few cases it names, each asked
    c = _CASE_OF_ORDER
    return sa.or_(
        _subtree(user, Order.receiving_unit_id, shape),
        _subtree(user, Order.issuing_unit_id, shape),
        _among(user, Order.case_id, sa.select(c.id).where(_subtree(user, c.responsible_unit_id, shape)),
               c.id == Order.case_id, shape),
    )


def visible_cases(user: User, *, shape: str = ROW) -> sa.Select:
    return sa.select(Case).where(case_visibility(user, shape=shape))


def visible_orders(user: User, *, shape: str = ROW) -> sa.Select:
    return sa.select(Order).where(order_visibility(user, shape=shape))


def get_case(user: User, number: str, *, for_update: bool = False) -> Case:
    """The case with that number if ``user`` may see it, else ``NotInJurisdiction`` (404)."""
    query = visible_cases(user).where(Case.number == number)
    case = db.session.scalars(query).first()
    if case is None:
        raise NotInJurisdiction("没有找到该投诉，或您无权查看。")
    return case


def can_see_case(user: User, case: Case) -> bool:
    """Whether ``user`` may open the case's page (the same rule as ``get_case``)."""
    return db.session.scalar(sa.select(sa.exists().where(Case.id == case.id, case_visibility(user)))) or False


def get_registered_by(user: User, number: str) -> Case:
    """A case ``user`` registered themselves, even when it routed above their unit (else 404).

    Only for the page that tells the clerk where the case went and hands them the receipt; the
    case's own page stays under ``get_case``.
    """
    case = db.session.scalars(sa.select(Case).where(Case.number == number, Case.created_by_id == user.id)).first()
    if case is None:
        raise NotInJurisdiction("没有找到该投诉，或您无权查看。")
    return case


def unit_in_scope(user: User, code: str | None) -> Unit:
    """The unit ``code`` names if it lies at or below the user's unit (the user's own when none)."""
    if not code:
        return user.unit
    unit = db.session.scalars(sa.select(Unit).where(Unit.code == code)).first()
    if unit is None or not unit.is_within(user.unit):
        raise NotInJurisdiction("没有找到该单位，或不在您的管辖范围内。")
    return unit


def get_order(user: User, number: str) -> Order:
    """The order with that number if ``user`` may see it, else 404."""
    order = db.session.scalars(visible_orders(user).where(Order.number == number)).first()
    if order is None:
        raise NotInJurisdiction("没有找到该单据，或您无权查看。")
    return order


def case_orders_for(user: User, case: Case) -> list[Order]:
    """The orders of a case that ``user`` may see, oldest first."""
    return list(db.session.scalars(visible_orders(user).where(Order.case_id == case.id).order_by(Order.id)))
