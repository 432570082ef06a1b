"""The deadline rules in force, from the database: calendar overrides, confirmed years, day settings."""
from __future__ import annotations

from collections.abc import Mapping

from flask import g, has_app_context

from caseflow.deadlines.policy import DEFAULT_DAYS, DeadlineRules
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import CalendarDay, CalendarYear, Setting, User
from caseflow.security.audit import record_access
from caseflow.workdays import WorkCalendar

SETTING_LABELS = {
    "issue_verification_days": "受理后下发核查单（工作日）",
    "verification_days": "核查单办理时限（工作日）",
    "decision_days": "核查报回后研究处理意见并下发督办单（工作日）",
    "supervision_days": "督办单办理时限（工作日）",
    "sign_days": "签收时限（工作日）",
    "escalate_after_days": "投诉处理逾期多少个工作日后提请上级督办",
    "escalate_after_days_verification": "核查单逾期多少个工作日后提请上级督办",
    "escalate_after_days_supervision": "督办单逾期多少个工作日后提请上级督办",
    "max_extension_days": "延期申请最多延长多少个工作日",
    "pause_max_days": "中止计时最长多少个工作日（期满自动恢复计时）",
    "return_review_days": "退回申请的审核时限（工作日）",
    "follow_up_rate_days": "办结后等待投诉人在线评价（工作日，期间评价的不再电话回访）",
    "follow_up_call_days": "办结后完成回访（工作日）",
    "repeat_window_days": "办结后多少天内仍提示可能的重复投诉（自然日）",
    "repeat_resubmit_days": "同一投诉人多少天内再次提交同一学生的同类投诉时不再新建投诉（自然日）",
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


def current_rules() -> DeadlineRules:
    """The calendar and every day setting in force (one query for the settings)."""
    stored = {row.key: int(row.value) for row in
              db.session.scalars(db.select(Setting).where(Setting.key.in_(DEFAULT_DAYS)))}
    return DeadlineRules(load_calendar(), {**DEFAULT_DAYS, **stored})


def current_settings() -> dict[str, int]:
    return {key: setting_days(key) for key in DEFAULT_DAYS}


def save_settings(actor: User | None, values: dict[str, int]) -> None:
    """Store the deadline days (1..30 each). They apply to deadlines computed from now on."""
    for key, value in values.items():
        if key not in DEFAULT_DAYS:
            raise InvalidInput(f"未知设置：{key}", field=key)
        if not isinstance(value, int) or not 1 <= value <= 30:
            raise InvalidInput("请填写1到30之间的整数", field=key)
    store_settings(actor, "deadlines", values)


def store_settings(actor: User | None, group: str, values: Mapping[str, object]) -> None:
    """Write checked settings (as text) and audit who changed them."""
    for key, value in values.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=str(value)))
        else:
            row.value = str(value)
    record_access(actor, "settings_save", "settings", group,
                  detail=", ".join(f"{k}={v}" for k, v in sorted(values.items())))
    db.session.flush()
