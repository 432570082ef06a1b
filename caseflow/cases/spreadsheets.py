"""The case, order and inbox lists as spreadsheet rows: the filtered list the user sees, masked unless revealed.

Each export starts from the list's own query (so from ``access.visible_cases`` / ``visible_orders``:
an export never holds a row the list would not show), keeps its filters and order, and reads only the
columns it writes, straight from the database in batches (a server-side cursor on PostgreSQL).  ID numbers
and phones are masked as the pages mask them; the full version needs the ``reveal`` permission and is
recorded in the audit log like a reveal.  Every export, masked or full, writes one audit row naming the
list, its filter and the row count, before the first row goes out.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from caseflow.cases import permissions, queries
from caseflow.deadlines import status
from caseflow.extensions import db
from caseflow.identity import mask_id_number, mask_phone
from caseflow.models import Case, CaseState, Category, Order, OrderKind, OrderState, Person, Unit, User
from caseflow.models.cases import case_schools
from caseflow.security.audit import record_access
from caseflow.timeutil import local, local_today

BATCH = 2000
MAX_NUMBER = 40


# --- the filtered lists -------------------------------------------------------------------------
# The lists' own filters and queries (queries.ListFilters): an export is exactly the list as shown.

def filtered_cases(user: User, args: Mapping[str, str]) -> sa.Select:
    """The case list ``/cases`` shows for these query parameters, in its order (no paging)."""
    return queries.case_export_query(user, queries.ListFilters.from_args(args, "cases"))


def filtered_orders(user: User, args: Mapping[str, str]) -> sa.Select:
    """The order list ``/orders`` shows for these query parameters, in its order (no paging)."""
    return queries.order_export_query(user, queries.ListFilters.from_args(args, "orders"))


def inbox_orders(user: User, args: Mapping[str, str]) -> sa.Select:
    """The orders ``/inbox`` shows for these query parameters, in its order (no paging)."""
    return queries.order_export_query(user, queries.ListFilters.from_args(args, "inbox"))


# --- the columns --------------------------------------------------------------------------------

def _iso(value) -> str:
    """A UTC time as local ISO 8601 to the minute (exports use ISO; pages use 2026年12月4日)."""
    return local(value).isoformat(timespec="minutes") if value is not None else ""


def _day(value) -> str:
    return value.isoformat() if value is not None else ""


def _schools() -> sa.ScalarSelect:
    """The case's schools, names joined with 、 (one correlated aggregate per row)."""
    school = aliased(Unit)
    return (sa.select(sa.func.aggregate_strings(school.name, "、"))
            .where(case_schools.c.case_id == Case.id, school.id == case_schools.c.unit_id)
            .scalar_subquery())


@dataclass(frozen=True)
class Sheet:
    """One list's spreadsheet: its headings, its columns as SQL, and how a fetched row becomes cells."""

    name: str
    headings: list[str]
    columns: Callable[[], list]
    joins: Callable[[sa.Select], sa.Select]
    cells: Callable[[Any, bool], list]


_COMPLAINANT, _STUDENT = aliased(Person, name="complainant"), aliased(Person, name="student")
_RESPONSIBLE, _ISSUER, _RECEIVER = (aliased(Unit, name="responsible"), aliased(Unit, name="issuer"),
                                    aliased(Unit, name="receiver"))


def _case_cells(row, full: bool) -> list:
    id_number = row.student_id_number if full else mask_id_number(row.student_id_number)
    phone = row.complainant_phone if full else mask_phone(row.complainant_phone)
    return [row.number, Category(row.category).label, CaseState(row.state).label, row.complainant_name, phone,
            row.student_name, id_number, row.schools or "", row.responsible, _day(row.action_due_on),
            _iso(row.received_at), _iso(row.closed_at)]


CASES = Sheet(
    "投诉",
    ["投诉编号", "问题类别", "状态", "投诉人", "投诉人联系电话", "学生", "学生身份证号", "涉及学校", "处理责任单位",
     "办理时限", "收到时间", "办结时间"],
    lambda: [Case.number, Case.category, Case.state, _COMPLAINANT.name.label("complainant_name"),
             _COMPLAINANT.phone.label("complainant_phone"), _STUDENT.name.label("student_name"),
             _STUDENT.id_number.label("student_id_number"), _schools().label("schools"),
             _RESPONSIBLE.name.label("responsible"), Case.action_due_on, Case.received_at, Case.closed_at],
    lambda q: (q.join(_COMPLAINANT, _COMPLAINANT.id == Case.complainant_id)
               .join(_STUDENT, _STUDENT.id == Case.student_id)
               .join(_RESPONSIBLE, _RESPONSIBLE.id == Case.responsible_unit_id)),
    _case_cells,
)


def _order_cells(row, full: bool) -> list:
    id_number = row.student_id_number if full else mask_id_number(row.student_id_number)
    phone = row.complainant_phone if full else mask_phone(row.complainant_phone)
    return [row.number, OrderKind(row.kind).label, row.case_number, OrderState(row.state).label, row.issuer,
            row.receiver, row.acting_person or "", row.complainant_name, phone, row.student_name, id_number,
            _iso(row.sent_at), _day(row.sign_due_on), _day(row.due_on), "是" if row.overdue else "否"]


def _order_columns() -> list:
    return [Order.number, Order.kind, Case.number.label("case_number"), Order.state,
            _ISSUER.name.label("issuer"), _RECEIVER.name.label("receiver"), Order.acting_person,
            _COMPLAINANT.name.label("complainant_name"), _COMPLAINANT.phone.label("complainant_phone"),
            _STUDENT.name.label("student_name"), _STUDENT.id_number.label("student_id_number"),
            Order.sent_at, Order.sign_due_on, Order.due_on,
            sa.case((status.order_overdue(Order, local_today()), True), else_=False).label("overdue")]


ORDERS = Sheet(
    "单据",
    ["单号", "类型", "投诉编号", "状态", "下发单位", "接收单位", "承办人", "投诉人", "投诉人联系电话", "学生",
     "学生身份证号", "交办时间", "签收时限", "完成时限", "是否逾期"],
    _order_columns,
    lambda q: (q.join(Case, Case.id == Order.case_id)
               .join(_COMPLAINANT, _COMPLAINANT.id == Case.complainant_id)
               .join(_STUDENT, _STUDENT.id == Case.student_id)
               .join(_ISSUER, _ISSUER.id == Order.issuing_unit_id)
               .join(_RECEIVER, _RECEIVER.id == Order.receiving_unit_id)),
    _order_cells,
)

# name in the URL → (the list's query, its sheet, what the audit row calls it)
LISTS: dict[str, tuple[Callable[[User, Mapping[str, str]], sa.Select], Sheet, str]] = {
    "cases": (filtered_cases, CASES, "case_list"),
    "orders": (filtered_orders, ORDERS, "order_list"),
    "inbox": (inbox_orders, ORDERS, "inbox"),
}


@dataclass
class Export:
    """A prepared export: headings, the rows to stream, and how many there are (counted for the audit)."""

    sheet: Sheet
    count: int
    rows: Iterator[list]


def _describe(args: Mapping[str, str]) -> str:
    """The filter as written in the URL (sorted, without the export's own switches), for the audit row."""
    keys = sorted(k for k in args if k not in ("full", "page"))
    return "&".join(f"{k}={args.get(k)}" for k in keys)[:1000] or "无"


def prepare(user: User, list_name: str, args: Mapping[str, str], *, full: bool) -> Export:
    """Check the right, write the audit row, and return the rows to stream (the caller commits first).

    ``full`` (complete ID numbers and phones) needs the ``reveal`` permission, else ``NotAllowed``.
    """
    if full:
        permissions.check(user, "reveal")
    make_query, sheet, target = LISTS[list_name]
    listed = make_query(user, args)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(listed.order_by(None).subquery())) or 0
    record_access(user, "export_full" if full else "export", target, list_name,
                  detail=f"共{count}行；筛选：{_describe(args)}")
    query = sheet.joins(listed.with_only_columns(*sheet.columns(), maintain_column_froms=False))
    return Export(sheet, count, _stream(query, sheet, full))


def _stream(query: sa.Select, sheet: Sheet, full: bool) -> Iterator[list]:
    """The rows, fetched in batches through a server-side cursor, turned into cells one by one."""
    result = db.session.execute(query.execution_options(yield_per=BATCH))
    try:
        for row in result:
            yield sheet.cells(row, full)
    finally:
        result.close()
