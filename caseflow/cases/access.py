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
from caseflow.models import Case, Order, Role, Unit, User

CASE_ROLES = (Role.INTAKE, Role.OFFICER, Role.SUPERVISOR)


def _subtree(user: User, unit_column) -> sa.ColumnElement[bool]:
    """``unit_column`` refers to a unit at or below the user's unit."""
    u = aliased(Unit)
    return sa.exists().where(u.id == unit_column, u.path.startswith(user.unit.path, autoescape=True))


def case_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition: the case is visible to ``user``."""
    if user.role not in CASE_ROLES:
        return sa.false()
    o = aliased(Order)
    return sa.or_(
        _subtree(user, Case.responsible_unit_id),
        sa.exists().where(o.case_id == Case.id, _subtree(user, o.receiving_unit_id)),
    )


def order_visibility(user: User) -> sa.ColumnElement[bool]:
    """SQL condition: the order is visible (its case's responsible unit, issuer or receiver is ours)."""
    if user.role not in CASE_ROLES:
        return sa.false()
    c = aliased(Case)
    return sa.or_(
        _subtree(user, Order.receiving_unit_id),
        _subtree(user, Order.issuing_unit_id),
        sa.exists().where(c.id == Order.case_id, _subtree(user, c.responsible_unit_id)),
    )


def visible_cases(user: User) -> sa.Select:
    return sa.select(Case).where(case_visibility(user))


def visible_orders(user: User) -> sa.Select:
    return sa.select(Order).where(order_visibility(user))


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
