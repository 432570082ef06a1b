"""What the edges call: print one order, a batch, a receipt; access and audit decided here."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from caseflow.cases import access, permissions
from caseflow.documents.context import order_form, receipt
from caseflow.documents.render import Pdf, render_orders, render_receipt
from caseflow.documents.store import order_pdf
from caseflow.errors import InvalidInput, NotInJurisdiction
from caseflow.extensions import db
from caseflow.models import Case, Order, Unit, User
from caseflow.security.audit import record_access
from caseflow.timeutil import SHANGHAI

MAX_BATCH_DAYS = 366
MAX_BATCH_ORDERS = 2000


@dataclass(frozen=True)
class Printed:
    data: bytes
    pages: int
    filename: str
    count: int = 1


def _audit_print(user: User | None, order: Order, detail: str) -> None:
    record_access(user, "print", "order", order.number, subject_id_number=order.case.student.id_number,
                  detail=detail)


_UNMASKED_DENIED = "您不能打印含完整个人信息的单据：只有处理责任单位可以。"


def _check_unmasked(user: User | None, unmasked: bool, orders: Sequence[Order] = ()) -> None:
    """An unmasked print shows the complainant in full: the right to reveal them, on each order's case."""
    if unmasked and user is not None:
        permissions.check(user, "reveal", denied="您的角色不能打印含完整个人信息的单据。")
        for order in orders:
            permissions.check(user, "reveal_complainant", order.case, denied=_UNMASKED_DENIED)


def print_order(user: User | None, number: str, *, unmasked: bool = False) -> Printed:
    """One order's PDF for ``user`` (None: the command line, which is trusted).

    Masked by default; unmasked only for roles that may reveal, and every
    unmasked print is written to the audit log.
    """
    _check_unmasked(user, unmasked)
    if user is None:
        order = db.session.scalars(sa.select(Order).where(Order.number == number)).first()
        if order is None:
            raise NotInJurisdiction(f"没有编号为{number}的单据。")
    else:
        order = access.get_order(user, number)
        _check_unmasked(user, unmasked, [order])
    pdf = order_pdf(order, unmasked=unmasked)
    if unmasked:
        _audit_print(user, order, "cli" if user is None else "unmasked")
    return Printed(pdf.data, pdf.pages, f"{order.kind.label}-{order.number}.pdf")


def parse_day(value: str | None, what: str, field: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidInput(f"请按“2026-11-23”的格式填写{what}", field=field) from None


def batch_orders(unit: Unit, start: date, end: date, user: User | None = None) -> list[Order]:
    """Orders ``unit`` issued or received with a 交办/督办 date in [start, end], by number."""
    lo = datetime.combine(start, time.min, SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    query = (sa.select(Order)
             .where(sa.or_(Order.issuing_unit_id == unit.id, Order.receiving_unit_id == unit.id),
                    Order.sent_at >= lo, Order.sent_at < hi)
             .order_by(Order.number).limit(MAX_BATCH_ORDERS + 1))
    if user is not None:
        query = query.where(access.order_visibility(user))
    return list(db.session.scalars(query))


def print_batch(user: User | None, unit_code: str, start: date, end: date, *,
                unmasked: bool = False, two_up: bool = False) -> Printed:
    """All orders of a unit in a date range as one PDF, one order per page (or two one-page orders per A4
    landscape sheet: ``render.two_up``), by number."""
    _check_unmasked(user, unmasked)
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期", field="date_to")
    if (end - start).days >= MAX_BATCH_DAYS:
        raise InvalidInput(f"一次最多打印{MAX_BATCH_DAYS}天的单据", field="date_to")
    unit = db.session.scalars(sa.select(Unit).where(Unit.code == (unit_code or "").strip())).first()
    if unit is None or (user is not None and not unit.is_within(user.unit)):
        raise InvalidInput("找不到该单位，或该单位不在您的管辖范围内", field="unit")
    orders = batch_orders(unit, start, end, user)
    if not orders:
        raise InvalidInput("该时间段内没有该单位下发或收到的单据", field="date_from")
    if len(orders) > MAX_BATCH_ORDERS:
        raise InvalidInput(f"单据超过{MAX_BATCH_ORDERS}份，请缩短时间段", field="date_to")
    # Unmasked only the orders whose complainant the user may reveal; the others print masked.
    full = {o.id for o in orders if unmasked and (user is None or permissions.can(user, "reveal_complainant", o.case))}
    forms = [order_form(o, unmasked=o.id in full) for o in orders]
    title = f"{unit.name} 核查单、督办单 {start.isoformat()}至{end.isoformat()}"
    pdf: Pdf = render_orders(forms, title=title, two_up_sheets=two_up)
    for order in orders:
        if order.id in full:
            _audit_print(user, order, "batch cli" if user is None else "batch unmasked")
    return Printed(pdf.data, pdf.pages, f"单据-{unit.code}-{start:%Y%m%d}-{end:%Y%m%d}.pdf", len(orders))


def print_receipt(number: str, grants: list[str], access_code: str | None = None) -> Printed:
    """The citizen's receipt, only for a case this browser session was granted."""
    if number not in grants:
        raise NotInJurisdiction("没有找到该投诉，或请先输入查询码。")
    case = db.session.scalars(sa.select(Case).where(Case.number == number)).first()
    if case is None:
        raise NotInJurisdiction("没有找到该投诉。")
    pdf = render_receipt(receipt(case, access_code))
    return Printed(pdf.data, pdf.pages, f"受理回执-{case.number}.pdf")


def print_registered_receipt(user: User, number: str) -> Printed:
    """The receipt of a case ``user`` registered, for them to hand or mail to the complainant (masked)."""
    from caseflow.cases import receipts

    case = access.get_registered_by(user, number)
    pdf = render_receipt(receipt(case, receipts.recall(case, case.submission_token)))
    return Printed(pdf.data, pdf.pages, f"受理回执-{case.number}.pdf")
