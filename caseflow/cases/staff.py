"""Staff accounts (officials of the units) as administrators keep them: find, create, (de)activate, reset a password.

Validate, change, record, flush; the caller commits (``unit_of_work``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from caseflow.cases.units import optional_phone, unit_by_code_or_name
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import (
    Role,
    Unit,
    UnitKind,
    User,
)
from caseflow.security.accounts import set_password
from caseflow.security.audit import record_access
from caseflow.security.passwords import hash_new_password

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def search_users(query: str | None, role: Role | None = None) -> sa.Select:
    """Users by username, name or unit (name or code), optionally of one role."""
    stmt = sa.select(User).join(User.unit).order_by(Unit.path, User.username)
    query = (query or "").strip()
    if query:
        stmt = stmt.where(sa.or_(User.username.contains(query, autoescape=True),
                                 User.name.contains(query, autoescape=True),
                                 Unit.name.contains(query, autoescape=True),
                                 Unit.code == query))
    if role is not None:
        stmt = stmt.where(User.role == role)
    return stmt


@dataclass
class Profile:
    """What an administrator sets on an account, at creation and on every later edit."""

    name: str
    role: Role
    unit: str
    phone: str | None = None
    email: str | None = None


@dataclass
class UserData(Profile):
    """What the create-user form gives: the profile, the username and the first password."""

    username: str = ""
    password: str = ""


def _checked_profile(data: Profile) -> dict:
    """The one set of checks on name, role, unit, phone and email: the column values, or ``InvalidInput``."""
    name = (data.name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput("请填写姓名（不超过60字）", field="name")
    unit = unit_by_code_or_name(data.unit)
    if data.role is not Role.ADMIN and unit.kind is UnitKind.MINISTRY:
        raise InvalidInput("本系统不在教育部设立业务账号", field="unit")
    if data.role in (Role.SUPERVISOR, Role.INTAKE) and unit.is_school:
        raise InvalidInput(f"学校不是处理责任单位，不能设{data.role.label}；请设为承办人", field="role")
    email = (data.email or "").strip() or None
    if email and (len(email) > 120 or not _EMAIL.match(email)):
        raise InvalidInput("电子邮箱格式不正确", field="email")
    return {"name": name, "role": data.role, "unit": unit, "phone": optional_phone(data.phone, "phone"),
            "email": email}


def create_user(actor: User | None, data: UserData) -> User:
    """Create an official's account at a unit, with an argon2id password hash."""
    username = (data.username or "").strip()
    if not _USERNAME.match(username):
        raise InvalidInput("用户名为3到60位字母、数字或 . _ -，以字母或数字开头", field="username")
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        raise InvalidInput(f"用户名{username}已被使用", field="username")
    profile = _checked_profile(data)
    user = User(username=username, **profile,
                password_hash=hash_new_password(data.password, personal=(username, profile["name"])))
    db.session.add(user)
    record_access(actor, "user_create", "user", username, detail=f"{data.role.value}@{profile['unit'].code}")
    db.session.flush()
    return user


def update_user(actor: User, user: User, data: Profile) -> None:
    """Change an account's name, role, unit, phone or email by the creation's checks.

    A phone left empty keeps the stored one (the form never shows it unmasked).  A new role or unit
    ends the user's sessions, so no page keeps the old rights; nobody changes their own role.
    """
    profile = _checked_profile(data)
    if profile["phone"] is None:
        profile["phone"] = user.phone
    if user.id == actor.id and profile["role"] is not user.role:
        raise InvalidInput("不能更改自己的角色", field="role")
    if profile["role"] is not user.role or profile["unit"] is not user.unit:
        user.session_version += 1
    changed = sorted(k for k, v in profile.items() if getattr(user, k) != v)
    for key, value in profile.items():
        setattr(user, key, value)
    record_access(actor, "user_update", "user", user.username,
                  detail=f"{','.join(changed)}; {user.role.value}@{user.unit.code}")
    db.session.flush()


def set_user_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (every session ends) or reactivate an account."""
    if user.id == actor.id and not active:
        raise InvalidInput("不能停用自己的账号", field="active")
    if user.active != active:
        user.active = active
        user.session_version += 1
    record_access(actor, "user_activate" if active else "user_deactivate", "user", user.username)
    db.session.flush()


def reset_password(actor: User | None, user: User, password: str) -> None:
    """Set a new password (the same policy as the user's own change); existing sessions of that user end."""
    set_password(user, password, field="password")
    record_access(actor, "user_reset_password", "user", user.username)
    db.session.flush()


def count_active() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)).where(User.active.is_(True))) or 0
