"""The one deadline rule (caseflow.deadlines.status): its words on every kind of day, and the SQL it
builds agreeing with its Python answer."""
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from caseflow.deadlines import policy, status
from caseflow.models.enums import CaseState, OrderKind, OrderState
from caseflow.workdays import Due, WorkCalendar

cal = WorkCalendar()


def words(due: date, today: date) -> str:
    return status.describe(cal, due, today).text


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 12, 3), "剩1个工作日"),  # Thursday
    (date(2026, 12, 4), "今天到期"),  # the due day itself, a working Friday
    (date(2026, 12, 5), "已逾期1个工作日"),  # Saturday: passed, not "today"
    (date(2026, 12, 6), "已逾期1个工作日"),  # Sunday
    (date(2026, 12, 7), "已逾期1个工作日"),  # Monday
    (date(2026, 12, 8), "已逾期2个工作日"),
])
def test_a_deadline_before_a_weekend(today, expected):
    assert words(date(2026, 12, 4), today) == expected


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 9, 30), "今天到期"),  # Wednesday before National Day
    (date(2026, 10, 1), "已逾期1个工作日"),  # holiday
    (date(2026, 10, 7), "已逾期1个工作日"),  # last day of the holiday
    (date(2026, 10, 8), "已逾期1个工作日"),  # first working day after it
    (date(2026, 10, 9), "已逾期2个工作日"),
    (date(2026, 10, 10), "已逾期3个工作日"),  # make-up Saturday counts
])
def test_a_deadline_before_a_holiday(today, expected):
    assert words(date(2026, 9, 30), today) == expected


def test_across_a_make_up_working_day():
    # Due on the make-up Saturday 2026-10-10: it is a working day, so "today" there.
    assert words(date(2026, 10, 10), date(2026, 10, 9)) == "剩1个工作日"
    assert words(date(2026, 10, 10), date(2026, 10, 10)) == "今天到期"
    assert words(date(2026, 10, 10), date(2026, 10, 11)) == "已逾期1个工作日"
    # Due the Monday after it: Friday has two working days left (the Saturday and the Monday).
    assert words(date(2026, 10, 12), date(2026, 10, 9)) == "剩2个工作日"
    # From inside the holiday, the days left skip the holiday and count the make-up day.
    assert words(date(2026, 10, 12), date(2026, 10, 3)) == "剩4个工作日"  # 10-08, 10-09, 10-10, 10-12


def test_due_day_on_a_rest_day_is_not_today():
    assert words(date(2026, 12, 6), date(2026, 12, 6)) != "今天到期"
    assert not status.describe(cal, date(2026, 12, 6), date(2026, 12, 6)).overdue
    assert status.describe(cal, date(2026, 12, 6), date(2026, 12, 7)).overdue


def test_done_deadlines_have_no_words():
    label = status.describe(cal, date(2026, 12, 4), date(2026, 12, 9), done=True)
    assert (label.css, label.text) == ("done", "")


def test_escalation_cutoff_agrees_with_days_late():
    due = date(2026, 12, 4)
    for n in (1, 2, 3, 5):
        for offset in range(0, 15):
            today = due + timedelta(days=offset)
            cutoff = status.late_cutoff(cal, today, n)
            late_enough = status.is_past(due, today) and status.days_late(cal, due, today) >= n
            assert status.is_late_by(due, today, cutoff) == late_enough, (n, today)


ORDERS = sa.table("orders", sa.column("state", sa.String), sa.column("due_on", sa.Date),
                  sa.column("sign_due_on", sa.Date))


@pytest.mark.parametrize("state", list(OrderState))
@pytest.mark.parametrize("offset", [-2, -1, 0, 1])
def test_order_overdue_in_sql_matches_python(state, offset):
    """The same function answers for a loaded order and, as SQL, in the database."""
    today = date(2026, 12, 6)
    due, sign = today + timedelta(days=offset), today + timedelta(days=offset - 1)
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (state TEXT, due_on DATE, sign_due_on DATE)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (:s, :d, :g)"),
                     {"s": state.value, "d": due.isoformat(), "g": sign.isoformat()})
        in_sql = conn.scalar(sa.select(sa.func.count()).select_from(ORDERS)
                             .where(status.order_overdue(ORDERS.c, today.isoformat())))
    in_python = status.order_overdue(SimpleNamespace(state=state, due_on=due, sign_due_on=sign), today)
    assert bool(in_sql) == in_python


def test_state_sets_live_on_the_enums():
    assert OrderState.WORKING == (OrderState.SENT, OrderState.SIGNED, OrderState.RELAYED)
    assert (*OrderState.WORKING, OrderState.REPORTED, OrderState.PAUSED, OrderState.RETURN_PENDING) == OrderState.OPEN
    assert set(CaseState.FINISHED).isdisjoint(CaseState.AWAITING_RESPONSIBLE)


RULES = policy.DeadlineRules(cal, policy.DEFAULT_DAYS)


def test_a_pause_moves_the_deadline_by_its_working_days_and_history_agrees():
    due = Due(date(2026, 10, 10), False)  # a make-up Saturday after the National Day holiday
    assert policy.after_pause(RULES, due, 0) == due
    assert policy.after_pause(RULES, due, 3) == Due(date(2026, 10, 14), False)  # over Sunday 10-11
    assert policy.pause_workdays(cal, date(2026, 9, 30), date(2026, 10, 10)) == 3  # 10-08, 10-09, 10-10
    fresh = policy.order_due_dates(RULES, OrderKind.VERIFICATION, date(2026, 9, 28))
    paused = policy.order_due_dates(RULES, OrderKind.VERIFICATION, date(2026, 9, 28), paused_days=3)
    assert fresh.due.on == date(2026, 10, 10) and paused.due.on == date(2026, 10, 14)
    # An approved extension is the date in force (it already holds any earlier pause).
    extended = policy.order_due_dates(RULES, OrderKind.VERIFICATION, date(2026, 9, 28), paused_days=3,
                                      extended_to=date(2026, 10, 20))
    assert extended.due.on == date(2026, 10, 20)


def test_a_paused_deadline_is_labelled_paused_not_overdue():
    label = status.describe(cal, date(2026, 12, 1), date(2026, 12, 20), paused=True)
    assert (label.css, label.text, label.overdue) == ("paused", "已暂停计时", False)


def test_policy_relayed_verification_never_ends_after_its_parent():
    parent = Due(date(2026, 12, 7), False)
    got = policy.order_due_dates(RULES, OrderKind.VERIFICATION, date(2026, 12, 3), parent_due=parent)
    assert got.due == parent and got.sign_due_on == date(2026, 12, 4)
    own = policy.order_due_dates(RULES, OrderKind.SUPERVISION, date(2026, 12, 3), parent_due=parent)
    assert own.due.on == date(2026, 12, 10)  # supervision relays get their own period


def test_policy_send_back_and_extension():
    sent = date(2026, 11, 23)
    base = policy.order_due_dates(RULES, OrderKind.VERIFICATION, sent)
    assert base.due.on == date(2026, 11, 30)
    again = policy.order_due_dates(RULES, OrderKind.VERIFICATION, sent, sent_back_on=date(2026, 11, 27))
    assert again.due.on == date(2026, 12, 4)
    kept = policy.order_due_dates(RULES, OrderKind.VERIFICATION, sent, extended_to=date(2026, 12, 18))
    assert kept.due == Due(date(2026, 12, 18), False)


def test_policy_next_action_due():
    received = date(2026, 12, 4)
    assert policy.next_action_due(RULES, CaseState.REGISTERED, received_on=received).on == date(2026, 12, 9)
    assert policy.next_action_due(RULES, CaseState.DECIDING, received_on=received,
                                       findings_on=date(2026, 12, 7)).on == date(2026, 12, 14)
    assert policy.next_action_due(RULES, CaseState.VERIFYING, received_on=received) is None
