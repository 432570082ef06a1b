"""The unit tree as administrators keep it: find, create and rename units, their phones and hotlines.

Validate, change, record, flush; the caller commits (``unit_of_work``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.identity import InvalidNumber, parse_phone
from caseflow.models import (
    Unit,
    UnitKind,
    User,
)
from caseflow.security.audit import record_access

_BUREAU_CODE = re.compile(r"^\d{6}$")
_SCHOOL_CODE = re.compile(r"^\d{10}$")
_CHILD_KIND = {UnitKind.MINISTRY: UnitKind.PROVINCE, UnitKind.PROVINCE: UnitKind.CITY,
               UnitKind.CITY: UnitKind.COUNTY}
# A lower bureau's division code shares its parent's prefix (province: 2 digits, city: 4).
_CODE_PREFIX = {UnitKind.PROVINCE: 2, UnitKind.CITY: 4}


def search_units(query: str | None) -> sa.Select:
    """Units whose name or code contains ``query``, in tree order."""
    stmt = sa.select(Unit).order_by(Unit.path)
    query = (query or "").strip()
    if query:
        stmt = stmt.where(sa.or_(Unit.name.contains(query, autoescape=True),
                                 Unit.code.startswith(query, autoescape=True)))
    return stmt


@dataclass(frozen=True)
class TreeLevel:
    """One opened unit of the tree: its ancestors, and one page of its children with their child counts."""

    unit: Unit | None  # None: the top of the tree
    ancestors: list[Unit]
    children: list[tuple[Unit, int]]
    total: int
    page: int
    pages: int


def tree_level(code: str | None, page: int = 1, per_page: int = 100) -> TreeLevel:
    """The tree opened at ``code`` (the top when None or unknown): its children one page at a time, so a
    county with a thousand schools costs one page, and each child's count of children, counted in SQL."""
    unit = db.session.scalars(sa.select(Unit).where(Unit.code == code)).first() if code else None
    ancestors = list(db.session.scalars(sa.select(Unit).where(Unit.code.in_(unit.ancestor_codes[:-1]))
                                        .order_by(Unit.path))) if unit else []
    below = Unit.parent_id == unit.id if unit else Unit.parent_id.is_(None)
    total = db.session.scalar(sa.select(sa.func.count(Unit.id)).where(below)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    child = sa.orm.aliased(Unit)
    grandchildren = (sa.select(sa.func.count(child.id)).where(child.parent_id == Unit.id)
                     .correlate(Unit).scalar_subquery())
    rows = db.session.execute(sa.select(Unit, grandchildren).where(below).order_by(Unit.kind != UnitKind.SCHOOL,
                                                                                    Unit.code)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return TreeLevel(unit, ancestors, [(u, n) for u, n in rows], total, page, pages)


def unit_by_code_or_name(value: str | None, field: str = "unit") -> Unit:
    """One unit by its exact code or exact name; ``InvalidInput`` naming ``field`` otherwise."""
    value = (value or "").strip()
    if not value:
        raise InvalidInput("请填写单位代码或单位全称", field=field)
    units = db.session.scalars(sa.select(Unit).where(sa.or_(Unit.code == value, Unit.name == value))).all()
    if not units:
        raise InvalidInput(f"找不到单位“{value}”，请在单位管理中查询其代码", field=field)
    if len(units) > 1:
        raise InvalidInput(f"有多个单位名为“{value}”，请填写单位代码", field=field)
    return units[0]


def optional_phone(value: str | None, field: str) -> str | None:
    """A phone typed into a form, checked; None when left empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_phone(value)
    except InvalidNumber as exc:
        raise InvalidInput(str(exc), field=field) from None


def _unit_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("请填写单位名称", field="name")
    if len(name) > 100:
        raise InvalidInput("单位名称不能超过100字", field="name")
    return name


@dataclass
class UnitData:
    """What the add-unit form gives: the parent's code, the new code, name and phones."""

    parent: str
    code: str
    name: str
    phone: str | None = None
    hotline: str | None = None
    address: str | None = None
    is_school: bool = False
    directly_administered: bool = False


def create_unit(actor: User | None, data: UnitData) -> Unit:
    """Add a unit under a bureau: a school (10-digit school code) or a lower bureau (6-digit division code)."""
    parent = unit_by_code_or_name(data.parent, field="parent")
    if parent.is_school:
        raise InvalidInput("上级单位须为教育行政部门，学校下不能再设单位", field="parent")
    code = (data.code or "").strip()
    if data.is_school and not _SCHOOL_CODE.match(code):
        raise InvalidInput("学校标识码应为10位数字", field="code")
    if not data.is_school and not _BUREAU_CODE.match(code):
        raise InvalidInput("教育行政部门的代码应为6位行政区划代码", field="code")
    if not data.is_school:
        if parent.kind not in _CHILD_KIND:
            raise InvalidInput("县级教育局下只能添加学校", field="parent")
        prefix = parent.code[:_CODE_PREFIX.get(parent.kind, 0)]
        if not code.startswith(prefix):
            raise InvalidInput(f"{parent.name}下级单位的行政区划代码应以{prefix}开头", field="code")
    if db.session.scalar(sa.select(Unit.id).where(Unit.code == code)) is not None:
        raise InvalidInput(f"代码{code}已被其他单位使用", field="code")
    if data.directly_administered and parent.kind is not UnitKind.PROVINCE:
        raise InvalidInput("只有省教育厅下的县（市）才能标为省直管", field="directly_administered")
    if data.is_school:
        kind = UnitKind.SCHOOL
    else:
        kind = UnitKind.COUNTY if data.directly_administered else _CHILD_KIND[parent.kind]
    unit = Unit(code=code, name=_unit_name(data.name), kind=kind, parent=parent,
                path=Unit.make_path(parent, code), phone=optional_phone(data.phone, "phone"),
                hotline=optional_phone(data.hotline, "hotline"), address=_address(data.address),
                directly_administered=data.directly_administered)
    db.session.add(unit)
    record_access(actor, "unit_create", "unit", code, detail=unit.name)
    db.session.flush()
    return unit


def _address(raw: str | None) -> str | None:
    address = " ".join((raw or "").split())
    if len(address) > 200:
        raise InvalidInput("地址不能超过200字", field="address")
    return address or None


def update_unit(actor: User | None, unit: Unit, name: str, phone: str | None, hotline: str | None,
                address: str | None = None) -> None:
    """Change a unit's name, phones and address (its code and place in the tree are fixed)."""
    unit.name = _unit_name(name)
    unit.phone = optional_phone(phone, "phone")
    unit.hotline = optional_phone(hotline, "hotline")
    unit.address = _address(address)
    record_access(actor, "unit_update", "unit", unit.code, detail=unit.name)
    db.session.flush()


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Unit.id))) or 0
