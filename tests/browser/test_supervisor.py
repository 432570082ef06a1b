"""Journey 3: a county supervisor issues a verification order, reviews it, issues a supervision order,
prints it, and sees the overdue item (and its escalation) on the dashboard."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.chase.scan import run_scan
from caseflow.models import CaseEvent, CaseState, Notification, OrderKind, OrderState, Unit, User, Verdict
from caseflow.timeutil import local_today
from tests.browser.support import FINDINGS, fresh, open_orders, send_verification, work_order
from tests.factories import submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def make_overdue(db, order) -> dict[str, int]:
    """Time passes: the order's deadlines lie ten days back, and the nightly chase runs.

    The server is another process, so the clock cannot be moved; the deadline is moved instead.
    """
    order = fresh(db, order)
    order.due_on = local_today() - timedelta(days=10)
    order.sign_due_on = order.due_on
    db.session.flush()
    counts = run_scan()
    db.session.commit()
    return counts


def test_supervisor_issues_both_orders(journey, app, db, world):
    case, _ = submit(db)
    j = journey("supervisor")
    page = j.page()
    j.login(page, world.user("supervisor", "410105"))

    page.goto("/cases")
    j.axe(page, "case list")
    # Sorted on the server by the column header; the current sort is announced, not just drawn.
    page.click("th a:has-text('办理时限')")
    page.wait_for_url("**/cases?*sort=due*")
    current = page.locator("th a[aria-current=true]")
    assert current.inner_text().startswith("办理时限") and "当前排序" in current.text_content()
    page.click(f"a:has-text('{case.number}')")
    page.wait_for_url(f"**/cases/{case.number}")
    j.shot(page, "new-case")
    j.axe(page, "case page")

    page.click("#act-accept button[type=submit]")
    page.wait_for_selector(".flash-success")
    # The school concerned is suggested and ticked; the complaint text is prefilled.
    assert page.is_checked("input[name=verify-units][value='4141000001']")
    assert page.input_value("#verify-content")
    page.click("#act-verify button[type=submit]")
    page.wait_for_selector(".flash-success")
    (verification,) = open_orders(db, case, OrderKind.VERIFICATION)
    assert fresh(db, case).state is CaseState.VERIFYING
    j.shot(page, "verification-sent")

    # The school reports its findings; the supervisor reviews them from the inbox.
    work_order(world, verification, FINDINGS, Verdict.TRUE)
    page.goto("/inbox")
    page.click(f"a:has-text('{verification.number}')")
    assert FINDINGS in page.inner_text("main")
    page.click("#act-accept button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert fresh(db, verification).state is OrderState.ACCEPTED

    page.goto(f"/cases/{case.number}")
    page.check("input[name=supervise-unit][value='4141000001']")
    page.fill("#supervise-opinion", "请学校三日内完成学籍注册并报告。")
    page.click("#act-supervise button[type=submit]")
    page.wait_for_selector(".flash-success")
    (supervision,) = open_orders(db, case, OrderKind.SUPERVISION)
    assert supervision.handling_opinion == "请学校三日内完成学籍注册并报告。"
    assert fresh(db, case).state is CaseState.HANDLING
    j.shot(page, "supervision-sent")

    if j.guarded(app, "/orders/<number>/pdf", "download the supervision order PDF"):
        resp = page.request.get(f"/orders/{supervision.number}/pdf")
        assert resp.ok and resp.body().startswith(b"%PDF"), (resp.status, resp.headers)
        (j.folder / f"{supervision.number}.pdf").write_bytes(resp.body())

    # Ten days on, nothing came back: the deadline shows red on the case page.
    chased = make_overdue(db, supervision)
    assert chased.get("complete_escalate") == 1, chased  # ten days late: escalated to the level above
    page.goto(f"/cases/{case.number}")
    row = page.locator("tr", has=page.locator(f"a:text-is('{supervision.number}')"))
    assert row.locator(".due-overdue").count() == 1, row.inner_html()
    j.shot(page, "overdue")

    if j.guarded(app, "/dashboard", "see the overdue item and its escalation on the dashboard"):
        page.goto("/dashboard")
        text = page.inner_text("main")
        assert any(s in text for s in (supervision.number, case.number, "逾期")), text[:500]
        j.shot(page, "dashboard")
        j.axe(page, "dashboard")


def test_province_supervisor_follows_the_overdue_count_down_and_chases(journey, app, db, world):
    """Issue 17's supervisor journey: the province dashboard's overdue count → the city → the county's
    overdue orders → the order → 催办, which the school's officers are told of and the timeline keeps."""
    case, _ = submit(db)
    order = send_verification(world, case)
    make_overdue(db, order)

    j = journey("supervisor-province")
    page = j.page()
    j.login(page, world.user("supervisor", "410000"))
    page.wait_for_url("**/dashboard")
    # The province's table: the city's overdue orders are a link to exactly those orders; the city's
    # name drills down a level.
    city = page.locator("tr", has=page.locator("a:text-is('郑州市教育局')"))
    assert city.locator("td").nth(1).inner_text().strip() == "1", city.inner_html()
    city.locator("a:text-is('郑州市教育局')").click()
    page.wait_for_url("**/dashboard?unit=410100")
    county = page.locator("tr", has=page.locator("a:text-is('金水区教育局')"))
    county.locator("td").nth(1).locator("a").click()
    page.wait_for_url("**/orders?*")
    assert "unit=410105" in page.url and "overdue=1" in page.url
    rows = page.locator("table.list tbody tr, table tbody tr").filter(has=page.locator(f"a:text-is('{order.number}')"))
    assert rows.count() == 1
    j.shot(page, "county-overdue-orders")
    j.axe(page, "county overdue orders")

    rows.first.locator(f"a:text-is('{order.number}')").click()
    page.wait_for_url(f"**/orders/{order.number}")
    page.click("#act-remind summary")
    page.fill("#act-remind textarea, #act-remind input[name=message]", "请于明日下班前完成学籍核查并报送。")
    page.click("#act-remind button[type=submit]")
    page.wait_for_selector(".flash-success")
    j.shot(page, "reminded")

    db.session.expire_all()
    event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.order_id == order.id,
                                                          CaseEvent.action == "chase_remind")).one()
    assert "请于明日下班前完成学籍核查并报送。" in event.note and "河南省教育厅" in event.note
    told = db.session.scalars(sa.select(Unit.code).join(User, User.unit_id == Unit.id)
                              .join(Notification, Notification.user_id == User.id)
                              .where(Notification.kind == "remind", Notification.link == f"/orders/{order.number}")).all()
    assert told and set(told) == {"4141000001"}
