"""Journey: a parent on a phone adds material to their complaint, stops texts, then withdraws it (撤诉).

The withdrawal runs in a browser with JavaScript turned off: the tracking page's forms and the
confirmation step are plain HTML.
"""
from __future__ import annotations

import pytest

from caseflow.models import CaseEvent, CaseState, NoticePreference, Notification, OrderState
from tests.browser.conftest import PHONE
from tests.browser.support import PDF, case_by_number, fresh, send_verification
from tests.factories import submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def track(page, number: str, code: str) -> None:
    page.goto("/track")
    page.fill("#number", number)
    page.fill("#code", code)
    page.click("button:has-text('查询')")
    page.wait_for_url(f"**/track/{number}")


def test_parent_adds_material_and_withdraws_on_a_phone(journey, app, db, world):
    case, code = submit(db)
    order = send_verification(world, case)
    j = journey("citizen-after-submit")
    page = j.page(PHONE)
    track(page, case.number, code)
    j.assert_fits(page)
    j.axe(page, "tracking page with the complainant's forms")

    # A wrong file: refused by the field, the typed text is kept.
    page.fill("#text", "学校又要求补交户口本复印件。")
    page.set_input_files("#attachments", files=[{"name": "说明.pdf", "mimeType": "application/pdf",
                                                  "buffer": b"not really a pdf"}])
    page.click("button:has-text('提交补充材料')")
    page.wait_for_selector("#attachments-err")
    assert "不是PDF、JPG或PNG文件" in page.inner_text("#attachments-err")
    assert page.input_value("#text") == "学校又要求补交户口本复印件。"
    j.shot(page, "material-refused")
    j.assert_fits(page)
    page.set_input_files("#attachments", files=[{"name": "户口本.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("button:has-text('提交补充材料')")
    page.wait_for_selector(".flash-success")
    assert "补充材料已提交" in page.inner_text(".flash-success")
    assert "您补充了材料，已通知承办单位" in page.inner_text(".timeline")
    j.shot(page, "material-added")
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "complainant_material")) == 1
    assert db.session.scalar(db.select(db.func.count(Notification.id)).where(Notification.case_id == case.id)) == 3

    # No more texts, please.
    page.check("input[name=notice][value=none]")
    page.click("button:has-text('保存设置')")
    page.wait_for_selector(".flash-success")
    assert "当前设置：不接收短信" in page.content()
    assert case_by_number(db, case.number).notice is NoticePreference.NONE

    # On a phone without JavaScript: the reason, the confirmation page, and the case ends as withdrawn.
    context = j.browser.new_context(base_url=j.base_url, viewport=PHONE, locale="zh-CN",
                                    timezone_id="Asia/Shanghai", java_script_enabled=False)
    context.set_default_timeout(10_000)
    j.contexts.append(context)
    plain = context.new_page()
    track(plain, case.number, code)
    plain.click("button:has-text('撤回投诉')")
    plain.wait_for_selector("#reason-err")
    assert plain.inner_text("#reason-err") == "请填写撤诉的理由"
    plain.fill("#reason", "学校已经为孩子补办了学籍注册。")
    plain.click("button:has-text('撤回投诉')")
    plain.wait_for_selector("button:has-text('确认撤回投诉')")
    assert "学校已经为孩子补办了学籍注册。" in plain.inner_text("main")
    j.shot(plain, "withdraw-confirm")
    j.assert_fits(plain)
    assert case_by_number(db, case.number).state is CaseState.VERIFYING
    plain.click("button:has-text('确认撤回投诉')")
    plain.wait_for_url(f"**/track/{case.number}")
    plain.wait_for_selector(".flash-success")
    assert "已撤诉" in plain.inner_text("main") and "您已撤回投诉，办理结束" in plain.inner_text(".timeline")
    assert plain.locator("button:has-text('提交补充材料')").count() == 0
    j.shot(plain, "withdrawn")
    j.assert_fits(plain)
    withdrawn = case_by_number(db, case.number)
    assert withdrawn.state is CaseState.WITHDRAWN and withdrawn.withdrawal_reason == "学校已经为孩子补办了学籍注册。"
    assert fresh(db, order).state is OrderState.CANCELLED
