"""Journey: a county officer calls a phone complainant back (回访) and records the answers."""
from __future__ import annotations

import pytest

from caseflow.cases import followups
from caseflow.models import AuditEntry, CaseState, FollowUpState, Rating, Resolution
from tests.browser.conftest import OLD_DESKTOP
from tests.browser.support import fresh
from tests.integration.test_follow_ups import closed_case

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_officer_records_a_follow_up_call(journey, app, db, world):
    case = closed_case(world, db, "4141000001")  # a phone complaint, closed: due for a call at once
    task = followups.pending_for(case)
    j = journey("follow-up")
    page = j.page(OLD_DESKTOP)
    j.login(page, world.user("officer", "410105"))

    page.click("nav a:has-text('回访')")
    page.wait_for_url("**/follow-ups")
    assert case.number in page.inner_text("main")
    j.shot(page, "list")
    j.assert_fits(page)
    j.axe(page, "follow-up list")

    page.click(f"a[href='/follow-ups/{task.case.number}']")
    page.wait_for_url(f"**/follow-ups/{task.case.number}")
    assert "138****5678" in page.inner_text("main")
    page.click("button:has-text('显示完整电话')")
    page.wait_for_selector("a[href='tel:13812345678']")
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(
        AuditEntry.action == "reveal", AuditEntry.target_ref == case.number)) == 1
    j.shot(page, "call-form")
    j.axe(page, "follow-up page")

    # Reached, but the answers not chosen: the message by its field, the note kept.
    page.check("input[name=reached][value=yes]")
    page.fill("#note", "家长表示孩子学籍已注册。")
    page.click("main button:has-text('保存回访记录')")
    page.wait_for_selector(".error-summary")
    assert "请选择投诉人所说的解决情况" in page.inner_text("main")
    assert page.input_value("#note") == "家长表示孩子学籍已注册。"
    assert page.is_checked("input[name=reached][value=yes]")
    j.shot(page, "call-form-error")
    j.axe(page, "follow-up page with an error")

    page.check("input[name=resolution][value=solved]")
    page.check("input[name=rating][value=satisfied]")
    page.click("main button:has-text('保存回访记录')")
    page.wait_for_selector(".flash-success")
    assert "目前没有需要回访的投诉" in page.inner_text("main")  # back on the list, which is now empty
    j.shot(page, "recorded")

    task, case = fresh(db, task), fresh(db, case)
    assert task.state is FollowUpState.CALLED and task.resolution is Resolution.SOLVED
    assert task.rating is Rating.SATISFIED and task.note == "家长表示孩子学籍已注册。"
    assert case.state is CaseState.CLOSED and case.rating is Rating.SATISFIED
