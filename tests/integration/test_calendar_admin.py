"""The administrator's holiday calendar, and provisional deadlines becoming real ones."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from caseflow.cases import operations as ops
from caseflow.deadlines import calendar as holidays
from caseflow.deadlines.settings import load_calendar
from caseflow.errors import InvalidInput
from caseflow.models import CalendarDay, CalendarYear, CaseEvent
from tests.factories import submit

SCHEDULE_2027 = """\
2027-01-01 休 元旦
2027-02-06 班 春节调休
2027-02-11 休 春节
2027-02-12 休 春节
"""

# Tuesday 29 December 2026, 10:00 in Shanghai: five working days later lies in 2027.
LATE_2026 = datetime(2026, 12, 29, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_2027_deadline_is_provisional_until_its_holidays_are_entered(world, db):
    admin = world.user("admin", "410000")
    sup = world.user("supervisor", "410105")
    with time_machine.travel(LATE_2026, tick=False):
        case, _ = submit(db)
        waiting, _ = submit(db)
        ops.accept_case(sup, case)
        (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
        db.session.commit()
        # 30, 31 December, then 1, 4, 5 January 2027 by weekends only.
        assert (order.due_on, order.due_provisional) == (date(2027, 1, 5), True)
        assert (waiting.action_due_on, waiting.action_due_provisional) == (date(2027, 1, 1), True)

        result = holidays.import_schedule(admin, SCHEDULE_2027)
        db.session.commit()

    assert result.stored == 4 and result.confirmed_year == 2027 and result.deadlines_changed == 2
    db.session.refresh(order)
    db.session.refresh(waiting)
    # 1 January is a holiday now: one day later, and no longer provisional.
    assert (order.due_on, order.due_provisional) == (date(2027, 1, 6), False)
    assert (waiting.action_due_on, waiting.action_due_provisional) == (date(2027, 1, 4), False)
    events = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.action == "deadline_recomputed")).all()
    assert {(e.case_id, e.order_id) for e in events} == {(case.id, order.id), (waiting.id, None)}
    assert all("2027年1月5日" in e.note or "2027年1月1日" in e.note for e in events)
    assert db.session.get(CalendarYear, 2027).entered_by_id == admin.id


def test_holidays_without_confirming_keep_other_days_provisional(world, db):
    admin = world.user("admin", "410000")
    with time_machine.travel(LATE_2026, tick=False):
        case, _ = submit(db)
        changed = holidays.set_day(admin, date(2027, 1, 1), False, "元旦")
        db.session.commit()
        assert changed == 1
        db.session.refresh(case)
        # 1 January is known to be off; 4 January rests on the weekends-only guess still.
        assert (case.action_due_on, case.action_due_provisional) == (date(2027, 1, 4), True)
        assert holidays.confirm_year(admin, 2027) == 0  # same date, now certain
        db.session.commit()
        db.session.refresh(case)
        assert case.action_due_provisional is False


def test_make_up_day_counts_and_holiday_is_skipped(world, db):
    admin = world.user("admin", "410000")
    holidays.set_day(admin, date(2027, 2, 7), True, "春节调休")   # a Sunday worked
    holidays.set_day(admin, date(2027, 2, 8), False, "春节")       # a Monday off
    db.session.commit()
    cal = load_calendar()
    assert cal.is_workday(date(2027, 2, 7)) and not cal.is_workday(date(2027, 2, 8))
    # From Friday 5 February: Sunday 7th (make-up) is day 1, Monday 8th is skipped, Tuesday 9th is day 2.
    assert cal.add(date(2027, 2, 5), 1).on == date(2027, 2, 7)
    assert cal.add(date(2027, 2, 5), 2).on == date(2027, 2, 9)

    holidays.remove_day(admin, date(2027, 2, 8))
    db.session.commit()
    assert load_calendar().is_workday(date(2027, 2, 8))
    assert db.session.get(CalendarDay, date(2027, 2, 8)) is None


def test_schedule_with_a_bad_line_stores_nothing(world, db):
    admin = world.user("admin", "410000")
    text = "2027-01-01 休 元旦\n2027-02-30 休 春节\n2027-02-06 上班\n\n2027-01-01 班 重复"
    with pytest.raises(InvalidInput) as err:
        holidays.import_schedule(admin, text)
    db.session.rollback()
    message = err.value.message
    assert "第2行" in message and "第3行" in message and "第5行" in message and "第1行" in message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarYear)) == 0


def test_schedule_accepts_common_date_spellings_and_caps_the_error_list():
    lines = holidays.parse_schedule("2027/1/1 休 元旦\n2027年2月7日　班　春节调休\n# 注释\n")
    assert [(x.day, x.is_workday, x.note) for x in lines] == [
        (date(2027, 1, 1), False, "元旦"), (date(2027, 2, 7), True, "春节调休")]
    with pytest.raises(InvalidInput) as err:
        holidays.parse_schedule("\n".join(f"2027-01-{d:02d} 假" for d in range(1, 21)))
    assert "第10行" in err.value.message and "第11行" not in err.value.message
    assert "共20行有误" in err.value.message


def test_schedule_year_is_the_year_most_dates_fall_in():
    lines = holidays.parse_schedule("2026-12-31 休 元旦\n2027-01-01 休 元旦\n2027-01-02 休 元旦")
    assert holidays.schedule_year(lines) == 2027


def test_calendar_years_report_their_source(world, db):
    holidays.confirm_year(world.user("admin", "410000"), 2028)
    db.session.commit()
    years = {y.year: y.source for y in holidays.calendar_years(today=date(2026, 11, 23))}
    assert years[2024] == "package" and years[2026] == "package"
    assert years[2027] == "provisional" and years[2028] == "admin"


def test_cli_imports_schedule_and_creates_users(world, db, app, tmp_path):
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.txt"
    bad.write_text("2027-01-01 休 元旦\n2027-01-02 放假\n", encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(bad)])
    assert result.exit_code == 1 and "第2行" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0

    good = tmp_path / "2027.txt"
    good.write_text(SCHEDULE_2027, encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(good)])
    assert result.exit_code == 0 and "4 day(s) stored; 2027 confirmed" in result.output
    assert runner.invoke(args=["calendar", "set-day", "2027-10-09", "work", "国庆调休"]).exit_code == 0
    assert db.session.get(CalendarDay, date(2027, 10, 9)).is_workday
    assert runner.invoke(args=["calendar", "confirm-year", "2028"]).exit_code == 0
    assert db.session.get(CalendarYear, 2028) is not None

    args = ["users", "create", "--username", "cli.officer", "--role", "officer", "--unit", "410105",
            "--name", "命令行"]
    result = runner.invoke(args=args, input="too-short\ntoo-short\n")
    assert result.exit_code == 1 and "密码至少12个字符" in result.output
    result = runner.invoke(args=args, input="long-enough-password\nlong-enough-password\n")
    assert result.exit_code == 0 and "created cli.officer" in result.output


def test_correcting_an_entered_year_moves_deadlines_it_affects(world, db):
    admin = world.user("admin", "410000")
    sup = world.user("supervisor", "410105")
    with time_machine.travel(LATE_2026, tick=False):
        holidays.import_schedule(admin, SCHEDULE_2027)
        case, _ = submit(db)
        ops.accept_case(sup, case)
        (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
        db.session.commit()
        assert (order.due_on, order.due_provisional) == (date(2027, 1, 6), False)
        # An extra day off inside the window moves the due date; one after it changes nothing.
        assert holidays.set_day(admin, date(2027, 1, 20), False, "误录") == 0
        assert holidays.set_day(admin, date(2027, 1, 4), False, "补录") == 1
        db.session.commit()
    db.session.refresh(order)
    assert (order.due_on, order.due_provisional) == (date(2027, 1, 7), False)
