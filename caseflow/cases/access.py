"""Who may see what. One place, used by lists, pages, downloads and actions alike.

Visibility: a user sees a case when their unit, or a unit below it, is the
responsible unit or has received an order on it; anything else is 404.
What a user may *do* with what they see is decided in ``caseflow.cases.permissions``.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

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

# Scopes this small (a county and its schools: a few per cent of a province's cases) are asked as sets of ids:
# their units' and their orders' cases fit in a hash (~50,000 ids at 1,000,000 cases), which PostgreSQL builds
# once and probes for each row, where a correlated EXISTS costs two index reads a row (measured: a county's
# search for 王 at 1,000,000 cases tested ~19,000 candidates at ~20 µs each).  Above them the sets hold much of
# the data (a province's 1.9 million orders would not fit the hash), and the planner chooses per statement
# between EXISTS a row and its own hashing.
_NARROW = frozenset({UnitKind.COUNTY, UnitKind.SCHOOL})


def _subtree(user: User, unit_column, by_index: bool = False) -> sa.ColumnElement[bool]:
    """``unit_column`` refers to a unit at or below the user's unit."""
    if user.unit.kind in _NARROW:
        units = sa.select(Unit.id).where(Unit.path.startswith(user.unit.path, autoescape=True)).correlate(None)
        return _in_array(unit_column, units.scalar_subquery()) if by_index else unit_column.in_(units)
    u = _SCOPE_UNIT
    return sa.exists().where(u.id == unit_column, u.path.startswith(user.unit.path, autoescape=True))


def _among(user: User, id_column, rows: sa.Select, correlated: sa.ColumnElement[bool],
           by_index: bool) -> sa.ColumnElement[bool]:
    """``id_column`` is one of the ids ``rows`` selects: as a set of ids (narrow scopes; an id array with
    ``by_index``), else EXISTS ``rows`` under ``correlated``."""
    if user.unit.kind in _NARROW:
        rows = rows.correlate(None)
        return _in_array(id_column, rows.scalar_subquery()) if by_index else id_column.in_(rows)
    return sa.exists(rows.where(correlated))


def case_visibility(user: User, *, by_index: bool = False) -> sa.ColumnElement[bool]:
    """SQL condition: the case is visible to ``user``.

    ``by_index``: for a statement that reads every visible row (the counts per state), in the shape PostgreSQL
    reads through the indexes when the scope is narrow (measured at 100,000 cases: a county's counts 14 ms
    against 69 ms scanning).  A page walked in its sort order tests rows one at a time, and there the default
    (hashed) shape is quicker: an id array is searched linearly for each row.  Both shapes select the same
    rows (tested for every unit).
    """
    if user.role not in CASE_ROLES:
        return sa.false()
    o = _ORDER_OF_CASE
    return sa.or_(
        _subtree(user, Case.responsible_unit_id, by_index),
        _among(user, Case.id, sa.select(o.case_id).where(_subtree(user, o.receiving_unit_id, by_index)),
               o.case_id == Case.id, by_index),
    )


def order_visibility(user: User, *, by_index: bool = False) -> sa.ColumnElement[bool]:
    """SQL condition: the order is visible (its case's responsible unit, issuer or receiver is ours).

    ``by_index`` as for :func:`case_visibility`.
    """
    if user.role not in CASE_ROLES:
        return sa.false()
    c = _CASE_OF_ORDER
    return sa.or_(
        _subtree(user, Order.receiving_unit_id, by_index),
        _subtree(user, Order.issuing_unit_id, by_index),
        _among(user, Order.case_id, sa.select(c.id).where(_subtree(user, c.responsible_unit_id, by_index)),
               c.id == Order.case_id, by_index),
    )


def visible_cases(user: User, *, by_index: bool = False) -> sa.Select:
    return sa.select(Case).where(case_visibility(user, by_index=by_index))


def visible_orders(user: User, *, by_index: bool = False) -> sa.Select:
    return sa.select(Order).where(order_visibility(user, by_index=by_index))


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
