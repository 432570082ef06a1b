"""Template filters and globals: Chinese dates, masks, deadline badges."""
from __future__ import annotations

from datetime import date

from flask import Flask

from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.timeutil import format_date_cn, format_datetime_cn, local_today


def deadline_info(due_on: date | None, done: bool = False) -> dict | None:
    """Working days left and a CSS class: ok / soon (≤1 day) / overdue."""
    if due_on is None:
        return None
    from caseflow.deadlines import load_calendar

    left = load_calendar().days_left(local_today(), due_on)
    if done:
        css, text = "done", ""
    elif left < 0:
        css, text = "overdue", f"已逾期{-left}个工作日"
    elif left == 0:
        css, text = "soon", "今天到期"
    elif left <= 1:
        css, text = "soon", f"剩{left}个工作日"
    else:
        css, text = "ok", f"剩{left}个工作日"
    return {"left": left, "css": css, "text": text, "date": format_date_cn(due_on)}


def init_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        cn_date=format_date_cn,
        cn_datetime=format_datetime_cn,
        mask_id=mask_id_number,
        mask_phone=mask_phone,
        mask_registry=mask_registry_number,
    )
    app.jinja_env.globals.update(deadline_info=deadline_info)
