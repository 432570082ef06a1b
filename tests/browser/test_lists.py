"""The lists as an officer and a supervisor see them: the triage inbox on a 1366×768 screen, search, filters."""
from __future__ import annotations

from datetime import timedelta

import pytest

from caseflow.cases import operations
from caseflow.timeutil import local_today
from tests.factories import submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

LAPTOP = {"width": 1366, "height": 768}


def _orders(db, world, n: int):
    sup, school = world.user("supervisor", "410105"), world.unit("4141000001")
    orders = []
    for _ in range(n):
        case, _ = submit(db)
        operations.accept_case(sup, case)
        orders += operations.issue_verification(sup, case, [school], "核实该生在校就读和学籍注册情况，两周内报送。")
    db.session.commit()
    today = local_today()
    for order in orders[:3]:
        order.due_on, order.sign_due_on = today - timedelta(days=8), today - timedelta(days=12)
    db.session.commit()
    return orders


def test_inbox_shows_25_rows_on_a_laptop_and_the_counts_filter(journey, app, db, world):
    orders = _orders(db, world, 30)
    j = journey("lists")
    page = j.page(LAPTOP)
    j.login(page, world.user("officer", "4141000001"))
    page.goto("/inbox")
    page.screenshot(path=str(j.folder / "00-inbox-1366x768.png"))
    # Rows wholly inside the first screen, without scrolling.
    visible = page.evaluate("""() => [...document.querySelectorAll('table.inbox tbody tr')]
        .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length""")
    assert visible >= 25, visible
    assert page.evaluate("() => [...document.querySelectorAll('table.inbox tbody tr')]"
                         ".every(r => r.getBoundingClientRect().height < 32)"), "a row wraps onto two lines"
    page.screenshot(path=str(j.folder / "00-inbox-1366x768.png"))
    j.assert_fits(page)
    j.axe(page, "inbox")

    page.click("a.count-overdue")
    page.wait_for_url("**/inbox?overdue=1")
    shown = page.locator("table.inbox tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(shown) == sorted(o.number for o in orders[:3])
    j.shot(page, "inbox-overdue")

    # The same search on the case list, one field and the state counts.
    page.goto("/cases")
    page.fill("#flt-q", "张小")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**/cases?q=*")
    assert "共 30 件" in page.inner_text("main")
    j.shot(page, "cases-search")
    j.axe(page, "case list with a search")
    page.fill("#save-name", "张小明的投诉")
    page.click(".save-filter button")
    page.wait_for_selector(".flash-success")
    page.click(".saved-filters summary")
    page.click(".saved-filters a:has-text('张小明的投诉')")
    page.wait_for_url("**/cases?q=*")
    j.shot(page, "saved-filter")
    j.axe(page, "saved filter in the navigation")
