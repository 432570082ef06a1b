"""Template filters and globals: Chinese dates, masks (of fields and of free text), deadline badges."""
from __future__ import annotations

from datetime import date

from flask import Flask
from markupsafe import Markup, escape

from caseflow.cases import attachments
from caseflow.deadlines import status
from caseflow.deadlines.settings import load_calendar
from caseflow.deadlines.status import DeadlineLabel
from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.models import Order
from caseflow.security.redact import redact
from caseflow.timeutil import format_date_cn, format_datetime_cn, format_month_cn, local_today


def deadline_label(due_on: date | None, done: bool = False, paused: bool = False) -> DeadlineLabel | None:
    """A deadline's words and CSS class today, by the one rule (``caseflow.deadlines.status``)."""
    if due_on is None:
        return None
    return status.describe(load_calendar(), due_on, local_today(), done=done, paused=paused)


def order_due_label(order: Order) -> DeadlineLabel | None:
    return deadline_label(order.due_on, done=not status.completion_running(order),
                          paused=bool(status.clock_paused(order)))


def order_sign_label(order: Order) -> DeadlineLabel | None:
    return deadline_label(order.sign_due_on, done=not status.sign_running(order))


def plain_text(text: str | None) -> Markup:
    """Plain text with simple formatting, never raw HTML: blank lines part paragraphs, "- " lines are a list."""
    blocks = []
    for block in (text or "").replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{escape(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{Markup('<br>').join(escape(line) for line in lines)}</p>")
    return Markup("".join(blocks))


def init_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        cn_date=format_date_cn,
        cn_datetime=format_datetime_cn,
        cn_month=format_month_cn,
        mask_id=mask_id_number,
        mask_phone=mask_phone,
        mask_registry=mask_registry_number,
        plain_text=plain_text,
        mask_text=redact,  # free text: ID numbers, registry numbers and phones typed into it
    )
    app.jinja_env.globals.update(deadline_label=deadline_label, order_due_label=order_due_label,
                                 order_sign_label=order_sign_label, attachment_name=attachments.name_for)
