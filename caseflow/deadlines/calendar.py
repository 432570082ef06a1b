"""The holiday calendar an administrator keeps: single days, a year's schedule pasted as text, confirmed years.

Each edit recomputes the open deadlines it moves (``caseflow.deadlines.recompute``). Validate, change,
record, flush; the caller commits (``unit_of_work``).
"""
from __future__ import annotations

import calendar as stdlib_calendar
import re
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from caseflow.deadlines.recompute import recompute_deadlines
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import (
    CalendarDay,
    CalendarYear,
    User,
)
from caseflow.security.audit import record_access
from caseflow.timeutil import format_date_cn, local_today
from caseflow.workdays import WorkCalendar, package_years

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
            source, label = "package", "系统内置国务院安排"
        else:
            source, label = "provisional", "暂定（仅按周末计算）"
        result.append(YearStatus(year, source, label, [d for d in days if d.day.year == year]))
    return result


@dataclass(frozen=True)
class DayCell:
    """One day of a month grid: its date, and ``mark`` "off" (a weekday off: a holiday), "work" (a weekend
    day worked: 调休上班), "weekend" or "" (an ordinary working day)."""

    day: date
    mark: str
    provisional: bool


@dataclass(frozen=True)
class MonthGrid:
    month: int
    weeks: list[list[DayCell | None]]  # Monday first; None outside the month


def month_grids(calendar: WorkCalendar, year: int) -> list[MonthGrid]:
    """The year's twelve months as week rows, each day marked by the working calendar in force."""
    grids = []
    for month in range(1, 13):
        weeks = []
        for week in stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            row: list[DayCell | None] = []
            for d in week:
                if d.month != month:
                    row.append(None)
                    continue
                workday, provisional = calendar.day(d)
                weekend = d.weekday() >= 5
                mark = ("work" if weekend else "") if workday else ("weekend" if weekend else "off")
                row.append(DayCell(d, mark, provisional))
            weeks.append(row)
        grids.append(MonthGrid(month, weeks))
    return grids
