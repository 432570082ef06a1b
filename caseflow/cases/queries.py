"""Read-side queries for officials: inbox, case list, order chains, unit search.

Every list starts from ``access.visible_cases`` / ``access.visible_orders``, so
a list can never show what the detail page would refuse (one access rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from caseflow.cases import access, permissions
from caseflow.deadlines import status
from caseflow.errors import InvalidInput, NotInJurisdiction
from caseflow.extensions import db
from caseflow.models import (
    Attachment,
    Case,
    CaseState,
    ExtensionRequest,
    ExtensionState,
    Order,
    OrderKind,
    OrderState,
    Unit,
    UnitKind,
    User,
)
from caseflow.timeutil import local_today

PER_PAGE = 20
UNIT_SEARCH_LIMIT = 20


# --- inbox -------------------------------------------------------------------------

@dataclass
class InboxFilters:
    """What the officer asked for on the inbox page."""

    kind: OrderKind | None = None
    state: OrderState | None = None
    overdue: bool = False
    sort: str = "due"  # due | sent | number


INBOX_SORTS = {"due": "按完成时限", "sent": "按交办时间", "number": "按编号"}


def inbox_query(user: User, filters: InboxFilters) -> sa.Select:
    """Orders waiting for ``user``'s unit: to sign, to work, to review, extensions to decide."""
    today = local_today()
    pending_ext = sa.exists().where(ExtensionRequest.order_id == Order.id,
                                    ExtensionRequest.state == ExtensionState.PENDING)
    mine = sa.or_(
        sa.and_(Order.receiving_unit_id == user.unit_id, status.completion_running(Order)),
        sa.and_(permissions.reviews(user, Order),
                sa.or_(Order.state == OrderState.REPORTED, sa.and_(status.completion_running(Order), pending_ext))),
    )
    query = access.visible_orders(user).where(mine)
    if filters.kind:
        query = query.where(Order.kind == filters.kind)
    if filters.state:
        query = query.where(Order.state == filters.state)
    overdue = status.order_overdue(Order, today)
    if filters.overdue:
        query = query.where(overdue)
    if filters.sort == "sent":
        return query.order_by(Order.sent_at.desc(), Order.id.desc())
    if filters.sort == "number":
        return query.order_by(Order.number)
    return query.order_by(sa.case((overdue, 0), else_=1), Order.due_on, Order.id)


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
    return "待审批延期申请"


# --- case list -------------------------------------------------------------------------

@dataclass
class CaseFilters:
    """What the official asked for on the case list."""

    state: CaseState | None = None
    category: str | None = None
    overdue: bool = False
    number: str = ""
    mine: bool = False
    sort: str = "received"  # received | number | due


CASE_SORTS = {"received": "按收到时间（新的在前）", "due": "按办理时限", "number": "按编号"}


def _case_overdue(today) -> sa.ColumnElement[bool]:
    """The responsible unit is late, or an open order of the current round is."""
    o = aliased(Order)
    return sa.or_(
        status.action_overdue(Case, today),
        sa.exists().where(o.case_id == Case.id, o.round == Case.round, status.completion_running(o),
                          status.is_past(o.due_on, today)),
    )


def case_list_query(user: User, filters: CaseFilters) -> sa.Select:
    """The cases ``user`` may see, filtered and sorted."""
    query = access.visible_cases(user)
    if filters.mine:
        query = query.where(Case.responsible_unit_id == user.unit_id)
    if filters.state:
        query = query.where(Case.state == filters.state)
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.overdue:
        query = query.where(_case_overdue(local_today()))
    number = (filters.number or "").strip().upper()
    if number:
        query = query.where(Case.number.contains(number, autoescape=True))
    if filters.sort == "number":
        return query.order_by(Case.number)
    if filters.sort == "due":
        return query.order_by(Case.action_due_on.asc().nulls_last(), Case.id)
    return query.order_by(Case.received_at.desc(), Case.id.desc())


def state_counts(user: User) -> list[tuple[CaseState, int]]:
    """Cases of the user's own unit per state, every state listed."""
    rows = db.session.execute(
        sa.select(Case.state, sa.func.count(Case.id))
        .where(access.case_visibility(user), Case.responsible_unit_id == user.unit_id)
        .group_by(Case.state)
    ).all()
    counts = {CaseState(state): n for state, n in rows}
    return [(state, counts.get(state, 0)) for state in CaseState]


def paginate(query: sa.Select, page: int):
    return db.paginate(query, page=max(page, 1), per_page=PER_PAGE, error_out=False)


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
