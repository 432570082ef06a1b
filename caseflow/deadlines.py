"""Deadlines from the database: calendar overrides, confirmed years and deadline settings."""
from __future__ import annotations

from datetime import date

from flask import g, has_app_context

from caseflow.extensions import db
from caseflow.models import CalendarDay, CalendarYear, Setting
from caseflow.workdays import Due, WorkCalendar

# Working days allowed for each step (DOMAIN §4); an administrator may change them.
DEFAULT_DAYS = {
    "issue_verification_days": 3,  # registration -> verification orders sent
    "verification_days": 5,        # order sent -> findings back
    "decision_days": 5,            # findings back -> supervision order sent
    "supervision_days": 5,         # supervision order received -> result back
    "sign_days": 1,                # order sent -> signed for
    "escalate_after_days": 2,      # a case's own deadline overdue this long -> escalated
    "escalate_after_days_verification": 2,  # a verification order overdue this long -> escalated
    "escalate_after_days_supervision": 2,   # a supervision order overdue this long -> escalated
}

SETTING_LABELS = {
    "issue_verification_days": "受理后下发核查单（工作日）",
    "verification_days": "核查单办理时限（工作日）",
    "decision_days": "核查报回后研究处理意见并下发督办单（工作日）",
    "supervision_days": "督办单办理时限（工作日）",
    "sign_days": "签收时限（工作日）",
    "escalate_after_days": "投诉处理逾期多少个工作日后提请上级督办",
    "escalate_after_days_verification": "核查单逾期多少个工作日后提请上级督办",
    "escalate_after_days_supervision": "督办单逾期多少个工作日后提请上级督办",
}
assert SETTING_LABELS.keys() == DEFAULT_DAYS.keys()


def setting_days(key: str) -> int:
    """A deadline setting, from the database or its default."""
    row = db.session.get(Setting, key)
    return int(row.value) if row else DEFAULT_DAYS[key]


def load_calendar() -> WorkCalendar:
    """The working calendar with the administrator's overrides (cached per request)."""
    if has_app_context() and "work_calendar" in g:
        return g.work_calendar
    overrides = {d.day: d.is_workday for d in db.session.scalars(db.select(CalendarDay))}
    years = db.session.scalars(db.select(CalendarYear.year)).all()
    cal = WorkCalendar(overrides, years)
    if has_app_context():
        g.work_calendar = cal
    return cal


def forget_calendar() -> None:
    """Drop the cached calendar after an administrator edits it."""
    if has_app_context():
        g.pop("work_calendar", None)


def due_after(start: date, key: str) -> Due:
    """The deadline ``setting_days(key)`` working days after ``start``."""
    return load_calendar().add(start, setting_days(key))
