"""Where a deadline stands today: passed, due soon, days left, and its words. The one definition.

A deadline has passed once its calendar day is over — a deadline of Friday is
overdue on Saturday, Sunday and Monday alike.  Working days only measure how far
off or how late it is.  ``is_past`` and ``is_due_soon`` take plain dates or SQL
columns alike, so the lists, the dashboard and the chase scan ask the same
comparison the labels do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from caseflow.models.enums import CaseState, FollowUpState, OrderState
from caseflow.workdays import WorkCalendar


def is_past(due_on: Any, today: Any) -> Any:
    """The deadline's day is over (a bool for dates, a SQL condition for columns)."""
    return due_on < today


def on_time(due_on: date, done_on: date) -> bool:
    """A step done on or before its deadline's day."""
    return not is_past(due_on, done_on)


def is_due_soon(due_on: Any, today: Any, soon: Any) -> Any:
    """Due today or by ``soon`` (the next working day): when the chase reminds."""
    return (due_on >= today) & (due_on <= soon)


def _in(state: Any, states: tuple) -> Any:
    """``state in states`` for a loaded value, ``state IN (...)`` for a column."""
    return state.in_(states) if hasattr(state, "in_") else state in states


# Which deadlines are running. ``o`` is an order (``c`` a case), or its class/table for SQL.

def sign_running(o: Any) -> Any:
    """The receiving unit has yet to sign for the order."""
    return o.state == OrderState.SENT


def completion_running(o: Any) -> Any:
    """The receiving unit has yet to report: its completion deadline runs and is chased."""
    return _in(o.state, OrderState.WORKING)


def clock_paused(o: Any) -> Any:
    """The order's clock is stopped (中止计时): no deadline of it runs, it is shown as 已暂停计时."""
    return o.state == OrderState.PAUSED


def review_running(o: Any) -> Any:
    """The receiver asked to return the order: the reviewer's deadline (``review_due_on``) runs."""
    return o.state == OrderState.RETURN_PENDING


def order_overdue(o: Any, today: Any) -> Any:
    """The receiver is late: not done by its due date, or not signed by its sign-by date."""
    return (completion_running(o) & is_past(o.due_on, today)) | (sign_running(o) & is_past(o.sign_due_on, today))


def order_due_today(o: Any, today: Any) -> Any:
    """The receiver's running deadline (signing or completing) falls due today."""
    return (completion_running(o) & (o.due_on == today)) | (sign_running(o) & (o.sign_due_on == today))


def action_running(c: Any) -> Any:
    """The responsible unit itself owes the case's next step (its action deadline runs)."""
    return _in(c.state, CaseState.AWAITING_RESPONSIBLE) & (c.action_due_on != None)  # noqa: E711 - SQL too


def action_overdue(c: Any, today: Any) -> Any:
    return action_running(c) & is_past(c.action_due_on, today)


def _late_order_of_round(c: Any, o: Any, today: Any) -> Any:
    """SQL: ``o`` is an order of the case's current round whose receiver is late completing it.

    The redundant last condition (implied: a working order's next deadline is never after its due date)
    lets the database read the late orders off ``ix_orders_urgency`` instead of every open order.
    """
    return ((o.case_id == c.id) & (o.round == c.round) & completion_running(o) & is_past(o.due_on, today)
            & is_past(order_urgency(o), today))


def case_overdue(c: Any, o: Any, today: Any) -> Any:
    """SQL: a case is late — its responsible unit's own step, or an open order of its current round.

    ``c`` is the Case class, ``o`` an aliased Order class (the orders of the case are asked with EXISTS).
    """
    import sqlalchemy as sa

    return action_overdue(c, today) | sa.exists().where(_late_order_of_round(c, o, today))


def late_cases(c: Any, o: Any, today: Any, *columns: Any, where: Any = True) -> Any:
    """SQL: the cases ``case_overdue`` finds (their id and ``columns`` of ``c``), as one set.

    For counting many cases at once: read from the late work's indexes (the action deadlines, the
    orders' next deadlines) instead of asking every open case; the same two conditions as ``case_overdue``
    (and ``where``, on ``c``).
    """
    import sqlalchemy as sa

    return sa.union(sa.select(c.id, *columns).where(action_overdue(c, today), where),
                    sa.select(c.id, *columns).select_from(o).join(c, c.id == o.case_id)
                    .where(_late_order_of_round(c, o, today), where))


def order_urgency(o: Any) -> Any:
    """SQL: the deadline the receiver must meet next (signing, then completing); none once it reported.

    ``ix_orders_urgency`` (models/orders.py) indexes this very expression: change both together.
    """
    import sqlalchemy as sa

    return sa.case((sign_running(o), o.sign_due_on), (completion_running(o), o.due_on), else_=None)


def action_due_today(c: Any, today: Any) -> Any:
    return action_running(c) & (c.action_due_on == today)


def follow_up_call_owed(f: Any, today: Any) -> Any:
    """The follow-up call (回访) is owed now: the task is open and any online-rating window is over.

    ``f`` is a ``FollowUp`` (a bool comes back) or its class / table (a SQL condition).
    """
    if hasattr(f.state, "in_"):
        return (f.state == FollowUpState.PENDING) & (f.rate_until.is_(None) | is_past(f.rate_until, today))
    return f.state is FollowUpState.PENDING and (f.rate_until is None or is_past(f.rate_until, today))


def soon_after(calendar: WorkCalendar, today: date) -> date:
    """The last day that still counts as due soon: the next working day."""
    return calendar.add(today, 1).on


def days_late(calendar: WorkCalendar, due_on: date, today: date) -> int:
    """Working days a passed deadline is late, at least 1 (late on the weekend after it, too)."""
    return max(1, calendar.count(due_on, today))


def late_cutoff(calendar: WorkCalendar, today: date, n: int) -> date:
    """The latest deadline that is at least ``n`` working days late today (see ``days_late``)."""
    return today - timedelta(days=1) if n <= 1 else calendar.back(today, n)


def is_late_by(due_on: Any, today: Any, cutoff: Any) -> Any:
    """Passed, and at least as late as ``late_cutoff`` says: when the chase escalates."""
    return is_past(due_on, today) & (due_on <= cutoff)


def days_left(calendar: WorkCalendar, due_on: date, today: date) -> int:
    """Working days from today until a deadline that has not passed (0 on the day)."""
    return calendar.count(today, due_on)


@dataclass(frozen=True)
class DeadlineLabel:
    """A deadline as shown: its date, words and a CSS class (done / ok / soon / overdue)."""

    due_on: date
    css: str
    text: str
    days: int  # working days left, or late when css == "overdue"

    @property
    def overdue(self) -> bool:
        return self.css == "overdue"


PAUSED_TEXT = "已暂停计时"


def describe(calendar: WorkCalendar, due_on: date, today: date, *, done: bool = False,
             paused: bool = False) -> DeadlineLabel:
    """剩n个工作日 / 今天到期 (on the day itself, a working day) / 已逾期n个工作日, 已暂停计时 while the
    clock is stopped, or nothing once done."""
    if paused:
        return DeadlineLabel(due_on, "paused", PAUSED_TEXT, 0)
    if done:
        return DeadlineLabel(due_on, "done", "", 0)
    if is_past(due_on, today):
        late = days_late(calendar, due_on, today)
        return DeadlineLabel(due_on, "overdue", f"已逾期{late}个工作日", late)
    if due_on == today and calendar.is_workday(today):
        return DeadlineLabel(due_on, "soon", "今天到期", 0)
    left = days_left(calendar, due_on, today)
    css = "soon" if is_due_soon(due_on, today, soon_after(calendar, today)) else "ok"
    return DeadlineLabel(due_on, css, f"剩{left}个工作日", left)
