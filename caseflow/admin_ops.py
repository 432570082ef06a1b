"""Administration: the holiday calendar, deadline settings, units and users.

Like ``caseflow.cases.operations``: validate, change, record, flush. The caller
commits once (``jobs.commit``).  Calendar edits recompute open deadlines through
``caseflow.deadlines.recompute``.
"""
from __future__ import annotations

import re
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from caseflow.audit import record_access
from caseflow.deadlines.recompute import recompute_deadlines
from caseflow.deadlines.settings import DEFAULT_DAYS, setting_days
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.identity import InvalidNumber, parse_phone
from caseflow.models import (
    CalendarDay,
    CalendarYear,
    Case,
    Order,
    OrderState,
    Role,
    Setting,
    Unit,
    UnitKind,
    User,
)
from caseflow.security.passwords import hash_password
from caseflow.timeutil import format_date_cn, local_today
from caseflow.workdays import package_years


def overview() -> dict[str, int]:
    """Counts for the admin index: units, active accounts, and open deadlines still provisional."""
    orders = sa.select(sa.func.count(Order.id)).where(Order.state.in_(OrderState.OPEN),
                                                      Order.due_provisional.is_(True))
    cases = sa.select(sa.func.count(Case.id)).where(Case.action_due_provisional.is_(True),
                                                    Case.action_due_on.is_not(None))
    return {
        "units": db.session.scalar(sa.select(sa.func.count(Unit.id))),
        "users": db.session.scalar(sa.select(sa.func.count(User.id)).where(User.active.is_(True))),
        "provisional": db.session.scalar(orders) + db.session.scalar(cases),
    }


# --- the holiday calendar -----------------------------------------------------------------------

_DAY_WORDS = {"休": False, "班": True}
_LINE = re.compile(r"^(\S+)\s+(\S+)(?:\s+(.*))?$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_MAX_REPORTED = 10


def _parse_day(text: str) -> date:
    """2027-01-01, 2027/1/1 or 2027年1月1日; ValueError otherwise."""
    match = _DATE.match(text)
    if not match:
        raise ValueError(text)
    return date(*(int(part) for part in match.groups()))


@dataclass(frozen=True)
class ScheduleLine:
    """One line of an official holiday schedule: ``2027-02-07 班 春节调休``."""

    day: date
    is_workday: bool
    note: str | None


def parse_schedule(text: str) -> list[ScheduleLine]:
    """Parse the pasted schedule; every bad line is named in one ``InvalidInput`` (nothing partial)."""
    lines: list[ScheduleLine] = []
    errors: list[str] = []
    seen: dict[date, int] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().replace("\u3000", " ")
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            errors.append(f"第{number}行“{line}”：应为“日期 休/班 说明”，例如“2027-01-01 休 元旦”")
            continue
        raw_day, word, note = match.groups()
        try:
            day = _parse_day(raw_day)
        except ValueError:
            errors.append(f"第{number}行：“{raw_day}”不是有效日期，请写成2027-01-01的格式")
            continue
        if word not in _DAY_WORDS:
            errors.append(f"第{number}行：“{word}”应为“休”（放假）或“班”（调休上班）")
            continue
        if day in seen:
            errors.append(f"第{number}行：{day.isoformat()}与第{seen[day]}行重复")
            continue
        note = (note or "").strip() or None
        if note and len(note) > 100:
            errors.append(f"第{number}行：说明不能超过100字")
            continue
        seen[day] = number
        lines.append(ScheduleLine(day, _DAY_WORDS[word], note))
    if errors:
        more = f"；……共{len(errors)}行有误" if len(errors) > _MAX_REPORTED else ""
        raise InvalidInput("；".join(errors[:_MAX_REPORTED]) + more, field="text")
    if not lines:
        raise InvalidInput("请粘贴至少一行节假日安排", field="text")
    return lines


def _store_day(line: ScheduleLine) -> None:
    row = db.session.get(CalendarDay, line.day)
    if row is None:
        db.session.add(CalendarDay(day=line.day, is_workday=line.is_workday, note=line.note))
    else:
        row.is_workday, row.note = line.is_workday, line.note


def _note_text(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note and len(note) > 100:
        raise InvalidInput("说明不能超过100字", field="note")
    return note


def set_day(actor: User | None, day: date, is_workday: bool, note: str | None = None) -> int:
    """Enter one holiday or make-up working day; returns how many deadlines changed."""
    _store_day(ScheduleLine(day, is_workday, _note_text(note)))
    record_access(actor, "calendar_set_day", "calendar", day.isoformat(), detail="班" if is_workday else "休")
    return recompute_deadlines(actor, [day])


def remove_day(actor: User | None, day: date) -> int:
    """Drop an override (the day falls back to chinesecalendar or weekends); returns changes."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        raise InvalidInput(f"{format_date_cn(day)}没有设置，无需删除", field="day")
    db.session.delete(row)
    record_access(actor, "calendar_remove_day", "calendar", day.isoformat())
    return recompute_deadlines(actor, [day])


def schedule_year(lines: list[ScheduleLine]) -> int:
    """The year a pasted schedule is for: the one most of its dates fall in (a 元旦 may start in December)."""
    tally = Tally(line.day.year for line in lines)
    return max(tally, key=lambda year: (tally[year], year))


@dataclass(frozen=True)
class ImportResult:
    stored: int
    confirmed_year: int | None
    deadlines_changed: int


def import_schedule(actor: User | None, text: str, *, confirm: bool = True) -> ImportResult:
    """Store a pasted official schedule (all lines or none), optionally confirm its year, recompute."""
    lines = parse_schedule(text)
    for line in lines:
        _store_day(line)
    year = schedule_year(lines) if confirm else None
    if year is not None:
        _confirm(actor, year)
    record_access(actor, "calendar_import", "calendar", str(year or lines[0].day.year),
                  detail=f"{len(lines)}行")
    return ImportResult(len(lines), year, recompute_deadlines(actor, [line.day for line in lines]))


def _confirm(actor: User | None, year: int) -> None:
    if db.session.get(CalendarYear, year) is None:
        db.session.add(CalendarYear(year=year, entered_by_id=actor.id if actor else None))


def confirm_year(actor: User | None, year: int) -> int:
    """Mark a year's holidays as completely entered (no longer provisional); returns changes."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("年份无效", field="year")
    _confirm(actor, year)
    record_access(actor, "calendar_confirm_year", "calendar", str(year))
    return recompute_deadlines(actor)


@dataclass(frozen=True)
class YearStatus:
    """Where a year's working days come from, for the calendar page."""

    year: int
    source: str  # "package" / "admin" / "provisional"
    label: str
    days: list[CalendarDay]


def calendar_years(first: int = 2024, today: date | None = None) -> list[YearStatus]:
    """Each year from ``first`` to next year with its source and the administrator's days."""
    today = today or local_today()
    known = package_years()
    confirmed = set(db.session.scalars(sa.select(CalendarYear.year)))
    days = db.session.scalars(sa.select(CalendarDay).order_by(CalendarDay.day)).all()
    last = max([today.year + 1, *(d.day.year for d in days), *confirmed])
    result = []
    for year in range(first, last + 1):
        if year in confirmed:
            source, label = "admin", "管理员已确认"
        elif year in known:
            source, label = "package", "chinesecalendar 内置"
        else:
            source, label = "provisional", "暂定（仅按周末计算）"
        result.append(YearStatus(year, source, label, [d for d in days if d.day.year == year]))
    return result


# --- deadline settings --------------------------------------------------------------------------

def current_settings() -> dict[str, int]:
    return {key: setting_days(key) for key in DEFAULT_DAYS}


def save_settings(actor: User | None, values: dict[str, int]) -> None:
    """Store the deadline days (1..30 each). They apply to deadlines computed from now on."""
    for key, value in values.items():
        if key not in DEFAULT_DAYS:
            raise InvalidInput(f"未知设置：{key}", field=key)
        if not isinstance(value, int) or not 1 <= value <= 30:
            raise InvalidInput("请填写1到30之间的整数", field=key)
    for key, value in values.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=str(value)))
        else:
            row.value = str(value)
    record_access(actor, "settings_save", "settings", "deadlines",
                  detail=", ".join(f"{k}={v}" for k, v in sorted(values.items())))
    db.session.flush()


# --- units ------------------------------------------------------------------------------------------

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


def _optional_phone(value: str | None, field: str) -> str | None:
    if not (value or "").strip():
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
                path=Unit.make_path(parent, code), phone=_optional_phone(data.phone, "phone"),
                hotline=_optional_phone(data.hotline, "hotline"),
                directly_administered=data.directly_administered)
    db.session.add(unit)
    record_access(actor, "unit_create", "unit", code, detail=unit.name)
    db.session.flush()
    return unit


def update_unit(actor: User | None, unit: Unit, name: str, phone: str | None, hotline: str | None) -> None:
    """Change a unit's name and phones (its code and place in the tree are fixed)."""
    unit.name = _unit_name(name)
    unit.phone = _optional_phone(phone, "phone")
    unit.hotline = _optional_phone(hotline, "hotline")
    record_access(actor, "unit_update", "unit", unit.code, detail=unit.name)
    db.session.flush()


# --- users ------------------------------------------------------------------------------------------

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN, PASSWORD_MAX = 12, 128


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


def check_password(password: str | None, field: str = "password") -> str:
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"密码至少{PASSWORD_MIN}个字符", field=field)
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"密码不能超过{PASSWORD_MAX}个字符", field=field)
    return password


@dataclass
class UserData:
    """What the create-user form gives."""

    username: str
    name: str
    role: Role
    unit: str
    password: str
    phone: str | None = None
    email: str | None = None


def create_user(actor: User | None, data: UserData) -> User:
    """Create an official's account at a unit, with an argon2id password hash."""
    username = (data.username or "").strip()
    if not _USERNAME.match(username):
        raise InvalidInput("用户名为3到60位字母、数字或 . _ -，以字母或数字开头", field="username")
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        raise InvalidInput(f"用户名{username}已被使用", field="username")
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
    user = User(username=username, name=name, role=data.role, unit=unit,
                password_hash=hash_password(check_password(data.password)),
                phone=_optional_phone(data.phone, "phone"), email=email)
    db.session.add(user)
    record_access(actor, "user_create", "user", username, detail=f"{data.role.value}@{unit.code}")
    db.session.flush()
    return user


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
    """Set a new password; existing sessions of that user end."""
    user.password_hash = hash_password(check_password(password))
    user.session_version += 1
    record_access(actor, "user_reset_password", "user", user.username)
    db.session.flush()
