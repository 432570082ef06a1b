"""Journey 4: an administrator pastes next year's official holiday schedule into the bulk form."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseflow.models import CalendarDay, CalendarYear
from caseflow.timeutil import local_today

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def first_sunday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(6 - day.weekday()) % 7)


def test_admin_adds_next_years_holidays(journey, app, db, world):
    year = local_today().year + 1
    make_up = first_sunday(year, 2)
    schedule = "\n".join([f"{year}-01-01 休 元旦", f"{year}-10-01 休 国庆节",
                          f"{year}/10/02 休 国庆节", f"{make_up:%Y年%-m月%-d日} 班 春节调休"])
    j = journey("admin")
    page = j.page()
    j.login(page, world.user("admin", "410000"))
    page.goto("/admin")
    page.click("a[href='/admin/calendar']")
    page.wait_for_url("**/admin/calendar")
    j.shot(page, "calendar")
    j.axe(page, "admin calendar")

    # One bad line: nothing is stored, the message is by the field, the pasted text is kept.
    bad = schedule + f"\n{year}-13-01 休 错误的日期"
    page.fill("#text", bad)
    page.click("form[action$='/calendar/import'] button[type=submit]")
    page.wait_for_selector("#text-err")
    assert "第5行" in page.inner_text("#text-err") or f"{year}-13-01" in page.inner_text("#text-err")
    assert page.input_value("#text") == bad
    assert db.session.scalar(db.select(db.func.count()).select_from(CalendarDay)) == 0
    j.shot(page, "bad-line")
    j.axe(page, "admin calendar with an error")

    page.fill("#text", schedule)
    assert not page.is_checked("#confirm")  # confirming the year is a decision, not a default
    page.check("#confirm")
    page.click("form[action$='/calendar/import'] button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "已导入4天" in page.inner_text(".flash-success")
    assert f"已确认{year}年日历" in page.inner_text(".flash-success")
    j.shot(page, "imported")

    db.session.expire_all()
    days = {d.day: d.is_workday for d in db.session.scalars(db.select(CalendarDay))}
    assert days == {date(year, 1, 1): False, date(year, 10, 1): False, date(year, 10, 2): False, make_up: True}
    assert db.session.get(CalendarYear, year) is not None
    assert "春节调休" in page.inner_text(f"#year-{year}")
