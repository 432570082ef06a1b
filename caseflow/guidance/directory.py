"""The published complaint channels (投诉渠道公开): each unit's complaint phone, e-mail, address, hours.

Found by a school's name or code (the school and the chain of bureaus above it, the responsible
bureau first) or by region (a bureau and the bureaus directly below it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from caseflow.cases import routing
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Unit, UnitKind, User
from caseflow.security.audit import record_access

SEARCH_LIMIT = 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Channel:
    """A unit's published contact and whether it is complete enough to publish."""

    unit: Unit

    @property
    def missing(self) -> list[str]:
        u = self.unit
        return [label for label, value in (("投诉电话", u.hotline), ("地址", u.address), ("办公时间", u.office_hours))
                if not value]


def find_schools(q: str) -> list[Unit]:
    """Schools by code (exact or prefix) or by a part of the name."""
    q = (q or "").strip()[:50]
    if not q:
        return []
    cond = Unit.code.startswith(q, autoescape=True) if q.isdigit() else Unit.name.contains(q, autoescape=True)
    return list(db.session.scalars(sa.select(Unit).where(Unit.kind == UnitKind.SCHOOL, cond)
                                   .order_by(Unit.code).limit(SEARCH_LIMIT)))


def chain(school: Unit) -> list[Unit]:
    """The bureaus a parent can turn to about ``school``: its responsible bureau first, then upwards."""
    bureau = routing.responsible_code([school]).unit_code
    codes = [c for c in school.ancestor_codes[:school.ancestor_codes.index(bureau) + 1] if c != "000000"]
    units = {u.code: u for u in db.session.scalars(sa.select(Unit).where(Unit.code.in_(codes)))}
    return [units[c] for c in reversed(codes) if c in units]


def regions(parent: Unit | None) -> list[Unit]:
    """The bureaus directly below ``parent`` (the provinces' bureaus when None)."""
    query = sa.select(Unit).where(Unit.kind != UnitKind.SCHOOL, Unit.kind != UnitKind.MINISTRY)
    if parent is None:
        query = query.where(Unit.kind == UnitKind.PROVINCE)
    else:
        query = query.where(Unit.parent_id == parent.id)
    return list(db.session.scalars(query.order_by(Unit.code)))


def missing_entries() -> list[Channel]:
    """Bureaus whose published channel lacks the phone, the address or the hours (for administrators)."""
    rows = db.session.scalars(sa.select(Unit).where(
        Unit.kind.in_((UnitKind.PROVINCE, UnitKind.CITY, UnitKind.COUNTY)),
        sa.or_(Unit.hotline.is_(None), Unit.address.is_(None), Unit.office_hours.is_(None)))
        .order_by(Unit.code))
    return [Channel(u) for u in rows]


def may_edit(user: User, unit: Unit) -> bool:
    """Administrators keep every entry; a unit's supervisor keeps their own unit's (``keep_channel``)."""
    from caseflow.cases import permissions
    from caseflow.models import Role

    return permissions.can(user, "keep_channel") and (user.role is Role.ADMIN or user.unit_id == unit.id)


def update(user: User, unit: Unit, *, hotline: str | None, email: str | None, address: str | None,
           office_hours: str | None) -> None:
    """Change a unit's published channel (audited)."""
    from caseflow.cases.units import optional_phone
    from caseflow.errors import NotAllowed

    if not may_edit(user, unit):
        raise NotAllowed("只有系统管理员或本单位责任人可以修改本单位的投诉渠道。")
    email = (email or "").strip() or None
    if email and (len(email) > 120 or not _EMAIL.match(email)):
        raise InvalidInput("电子邮箱格式不正确", field="email")
    address = (address or "").strip() or None
    if address and len(address) > 200:
        raise InvalidInput("地址不能超过200个字", field="address")
    hours = (office_hours or "").strip() or None
    if hours and len(hours) > 100:
        raise InvalidInput("办公时间不能超过100个字", field="office_hours")
    unit.hotline = optional_phone(hotline, "hotline")
    unit.email, unit.address, unit.office_hours = email, address, hours
    record_access(user, "channel_update", "unit", unit.code, detail=unit.name)
    db.session.flush()
