"""Journey 3: a county supervisor issues a verification order, reviews it, issues a supervision order,
prints it, and sees the overdue item (and its escalation) on the dashboard."""
from __future__ import annotations

from datetime import timedelta

import pytest

from caseflow.chase.scan import run_scan
from caseflow.models import CaseState, OrderKind, OrderState, Verdict
from caseflow.timeutil import local_today
from tests.browser.support import FINDINGS, fresh, open_orders, work_order
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
