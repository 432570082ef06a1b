"""Finding the schools a complaint concerns, by name substring or code prefix."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from caseflow.extensions import db
from caseflow.models import Unit, UnitKind

SEARCH_LIMIT = 20
_LEADING_CODE = re.compile(r"^(\d{10})(?:\s|$)")


@dataclass
class Resolution:
    """The school a typed text names, or the candidates when it names several (or none)."""

    school: Unit | None = None
    candidates: list[Unit] = field(default_factory=list)


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def search(text: str | None, limit: int = SEARCH_LIMIT) -> list[Unit]:
    """Schools whose name contains ``text`` or whose code starts with it (LIKE wildcards escaped)."""
    q = _clean(text)
    if not q:
        return []
    query = (
        sa.select(Unit)
        .options(joinedload(Unit.parent))
        .where(Unit.kind == UnitKind.SCHOOL,
               sa.or_(Unit.name.contains(q, autoescape=True), Unit.code.startswith(q, autoescape=True)))
        .order_by(Unit.code.startswith(q, autoescape=True).desc(), Unit.name, Unit.code)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def by_code(code: str) -> Unit | None:
    return db.session.scalars(
        sa.select(Unit).where(Unit.code == code, Unit.kind == UnitKind.SCHOOL)
    ).first()


def resolve(text: str | None) -> Resolution:
    """An exact code ("4141000001" or "4141000001 某某小学"), an exact name, or a unique match."""
    q = _clean(text)
    if not q:
        return Resolution()
    code = _LEADING_CODE.match(q)
    if code:
        school = by_code(code.group(1))
        return Resolution(school=school) if school else Resolution()
    exact = list(db.session.scalars(
        sa.select(Unit).where(Unit.kind == UnitKind.SCHOOL, Unit.name == q).limit(SEARCH_LIMIT)
    ))
    if len(exact) == 1:
        return Resolution(school=exact[0])
    matches = exact or search(q)
    if len(matches) == 1:
        return Resolution(school=matches[0])
    return Resolution(candidates=matches)


def as_json(unit: Unit) -> dict:
    """What the search endpoint returns for one school."""
    return {"code": unit.code, "name": unit.name, "parent": unit.parent.name if unit.parent else ""}
