"""The deadline policy (DOMAIN §4): when each step of a case is due. Pure: no Flask, no database.

Every deadline caseflow sets is computed here — by the operations when a step
happens, by the calendar recompute when an administrator edits the holidays,
and by the demo loader — from the facts that start it (the day an order was
sent, its parent, the day it was sent back, an approved extension).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from caseflow.models.enums import CaseState, OrderKind
from caseflow.timeutil import local_date
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
    "max_extension_days": 10,      # an extension moves an order's deadline by at most this much
    "pause_max_days": 20,          # a clock pause (中止计时) ends by itself after this many working days
    "return_review_days": 1,       # a return (退单) -> the issuer's (or the level above's) decision on it
    "follow_up_rate_days": 2,      # closing -> the online rating that replaces the follow-up call
    "follow_up_call_days": 5,      # closing -> the follow-up call (回访) made
    # Repeat complaints (calendar days, not working days):
    "repeat_window_days": 30,      # a case closed this recently is still matched by a new complaint
    "repeat_resubmit_days": 30,    # the same complainant's same complaint this soon makes no new case
}

# The period an order of each kind has, from the day it is sent (or sent back).
ORDER_DAYS = {OrderKind.VERIFICATION: "verification_days", OrderKind.SUPERVISION: "supervision_days"}


def escalate_key(kind: OrderKind | None) -> str:
    """The setting for how long an order of ``kind`` (or a case's own step, None) may be overdue."""
    return f"escalate_after_days_{kind.value}" if kind else "escalate_after_days"


@dataclass(frozen=True)
class DeadlineRules:
    """The working calendar and the day counts in force."""

    calendar: WorkCalendar
    days: Mapping[str, int]

    def after(self, start: date, key: str) -> Due:
        """The deadline ``days[key]`` working days after ``start`` (``start`` itself not counted)."""
        return self.calendar.add(start, self.days[key])


@dataclass(frozen=True)
class OrderDeadlines:
    """An order's sign-by and complete-by dates."""

    sign: Due
    due: Due

    @property
    def sign_due_on(self) -> date:
        """Signing is never due after completion."""
        return min(self.sign.on, self.due.on)

    @property
    def provisional(self) -> bool:
        return self.sign.provisional or self.due.provisional


def sign_by(rules: DeadlineRules, sent_on: date) -> Due:
    return rules.after(sent_on, "sign_days")


def complete_by(rules: DeadlineRules, kind: OrderKind, sent_on: date, parent_due: Due | None = None) -> Due:
    """A fresh period; a relayed verification order never ends after the hop above it."""
    due = rules.after(sent_on, ORDER_DAYS[kind])
    if parent_due is not None and kind is OrderKind.VERIFICATION and parent_due.on < due.on:
        return parent_due
    return due


def after_send_back(rules: DeadlineRules, kind: OrderKind, due: Due, sent_back_on: date) -> Due:
    """An order sent back for rework gets at least a fresh period from that day."""
    again = rules.after(sent_back_on, ORDER_DAYS[kind])
    return again if again.on > due.on else due


def after_pause(rules: DeadlineRules, due: Due, paused_days: int) -> Due:
    """The deadline moved by the working days the order's clock stood still (中止计时): a pause of 3
    working days moves it by 3 working days. The one rule: on resume and when recomputed from history."""
    if paused_days <= 0:
        return due
    moved = rules.calendar.add(due.on, paused_days)
    return Due(moved.on, due.provisional or moved.provisional)


def pause_workdays(calendar: WorkCalendar, started_on: date, ended_on: date) -> int:
    """Working days a pause lasted, (started, ended] as a step's days are counted (``working_days_taken``)."""
    return calendar.count(started_on, ended_on)


def pause_ends_by(rules: DeadlineRules, started_on: date) -> date:
    """The day an approved pause ends by itself (the scan resumes it): ``pause_max_days`` after it started."""
    return rules.after(started_on, "pause_max_days").on


def return_review_due(rules: DeadlineRules, returned_on: date) -> Due:
    """By when a return must be confirmed or refused (by the issuer, or the level above once disputed)."""
    return rules.after(returned_on, "return_review_days")


def order_due_dates(rules: DeadlineRules, kind: OrderKind, sent_on: date, *, parent_due: Due | None = None,
                    sent_back_on: date | None = None, extended_to: date | None = None,
                    paused_days: int = 0) -> OrderDeadlines:
    """Both deadlines of an order from its history; an approved extension is an explicit date and is kept
    (it already holds any pause before it: ``extended_to`` is the date in force)."""
    sign = sign_by(rules, sent_on)
    if extended_to is not None:
        return OrderDeadlines(sign, Due(extended_to, False))
    due = complete_by(rules, kind, sent_on, parent_due)
    if sent_back_on is not None:
        due = after_send_back(rules, kind, due, sent_back_on)
    return OrderDeadlines(sign, after_pause(rules, due, paused_days))


def registered_action_due(rules: DeadlineRules, start_on: date) -> Due:
    """A registered (or reopened) case must get its verification orders within this."""
    return rules.after(start_on, "issue_verification_days")


def decision_due(rules: DeadlineRules, findings_on: date) -> Due:
    """Once all findings are in, the supervision order (or the close) is due within this."""
    return rules.after(findings_on, "decision_days")


def next_action_due(rules: DeadlineRules, state: CaseState, *, received_on: date,
                         reopened_on: date | None = None, findings_on: date | None = None) -> Due | None:
    """When the responsible unit must act next, or None when nothing is due from it."""
    if state in (CaseState.SUBMITTED, CaseState.REGISTERED):
        return registered_action_due(rules, reopened_on or received_on)
    if state is CaseState.DECIDING and findings_on is not None:
        return decision_due(rules, findings_on)
    return None


def follow_up_due(rules: DeadlineRules, closed_on: date, *, rates_online: bool) -> tuple[date | None, Due]:
    """The last day an online rating replaces the call (None for one who cannot rate online), and the call's deadline."""
    rate_until = rules.after(closed_on, "follow_up_rate_days").on if rates_online else None
    return rate_until, rules.after(closed_on, "follow_up_call_days")


def latest_extension(rules: DeadlineRules, due_on: date) -> date:
    """The latest deadline an extension request may ask for: ``max_extension_days`` after the current one."""
    return rules.after(due_on, "max_extension_days").on


def working_days_taken(calendar: WorkCalendar, started_at: datetime, done_at: datetime) -> int:
    """Working days a step took, Shanghai days (started, done]: frozen when it is done, so figures never drift."""
    return calendar.count(local_date(started_at), local_date(done_at))
