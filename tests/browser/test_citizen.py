"""Journey 1: a parent on a phone submits a complaint, fixes a typo, keeps the receipt, tracks and rates."""
from __future__ import annotations

from datetime import date

import pytest

from caseflow.models import CaseState, Rating
from tests.browser.conftest import PHONE
from tests.browser.support import case_by_number, close_case
from tests.factories import make_id_number

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

PAGE_BUDGET = 300 * 1024
PARENT_ID = make_id_number("410105", date(1988, 5, 4), 311)
TYPO_ID = PARENT_ID[:14] + PARENT_ID[15] + PARENT_ID[14] + PARENT_ID[16:]  # two digits swapped


def fill_complaint(page, id_number: str) -> None:
    page.fill("#complainant_name", "张伟")
    page.check("input[name=complainant_sex][value=male]")
    page.fill("#complainant_age", "38")
    page.select_option("#complainant_ethnicity", "汉族")
    page.fill("#complainant_id_number", id_number)
    page.fill("#complainant_phone", "13812345678")
    page.fill("#student_name", "张小明")
    page.check("input[name=student_sex][value=male]")
    page.fill("#student_age", "11")
    page.select_option("#student_ethnicity", "汉族")
    page.select_option("#category", "unregistered")
    # The school picker, by keyboard: type part of the name, arrow down to the suggestion, Enter.
    page.locator("#school1").press_sequentially("金水区第一", delay=20)
    page.wait_for_selector("#school-suggest-0 li[role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.input_value("#school1") == "4141000001 郑州市金水区第一小学"
    page.fill("#description", "孩子在金水区第一小学就读两年，学校一直没有给办理学籍注册。")


def page_weight(page, path: str) -> int:
    """Bytes of every response a first visit to ``path`` loads (fresh context, empty cache)."""
    responses = []
    page.on("response", lambda r: responses.append(r))
    page.goto(path, wait_until="networkidle")
    return sum(len(r.body()) for r in responses if r.status < 300)


def test_parent_on_a_phone(journey, app, db, world):
    j = journey("citizen")
    page = j.page(PHONE)

    weight = page_weight(page, "/complaints/new")
    print(f"citizen form first load: {weight} bytes")
    assert weight <= PAGE_BUDGET, f"the citizen form weighs {weight} bytes"
    j.shot(page, "form")
    j.assert_fits(page)
    j.axe(page, "citizen form")

    # A typo in the ID number: the message is by the field and in the summary, the rest is kept.
    fill_complaint(page, TYPO_ID)
    page.click("button:has-text('提交投诉')")
    page.wait_for_selector(".error-summary")
    page.wait_for_function("document.activeElement.id === 'error-summary'")  # keyboard users start there
    error = page.locator("#complainant_id_number-err")
    assert error.inner_text() == "身份证号校验位不正确，请核对后重新输入"
    assert page.get_attribute("#complainant_id_number", "aria-invalid") == "true"
    described = page.get_attribute("#complainant_id_number", "aria-describedby").split()
    assert described == ["complainant_id_number-hint", "complainant_id_number-err"]
    assert page.input_value("#complainant_name") == "张伟"
    assert page.input_value("#student_name") == "张小明"
    assert page.input_value("#complainant_id_number") == TYPO_ID
    assert page.input_value("#description").startswith("孩子在金水区第一小学")
    assert page.is_checked("input[name=complainant_sex][value=male]")
    j.shot(page, "id-typo")
    j.assert_fits(page)
    j.axe(page, "citizen form with errors")
    # The summary links to the field.
    page.click(".error-summary a[href='#complainant_id_number']")
    assert page.evaluate("document.activeElement.id") == "complainant_id_number"

    page.fill("#complainant_id_number", PARENT_ID)
    page.click("button:has-text('提交投诉')")
    page.wait_for_url("**/complaints/receipt")
    number = page.locator(".code-big").first.inner_text().strip()
    code = page.locator(".access-code").inner_text().strip()
    assert number.startswith("XJ") and len(code) == 9
    assert PARENT_ID not in page.content()  # masked on the receipt
    j.shot(page, "receipt")
    j.assert_fits(page)
    j.axe(page, "receipt")

    # Days later, on another phone: track with number and access code.
    later = j.page(PHONE)
    later.goto("/track")
    j.axe(later, "tracking form")
    later.fill("#number", number)
    later.fill("#code", code)
    later.click("button:has-text('查询')")
    later.wait_for_url(f"**/track/{number}")
    assert "待受理" in later.content() or case_by_number(db, number).state.label in later.content()
    j.shot(later, "tracking")
    j.assert_fits(later)
    j.axe(later, "tracking page")

    # The county handles and closes the case; the parent sees the result and rates it.
    close_case(db, world, case_by_number(db, number))
    later.reload()
    assert "办理结果" in later.content()
    later.check("input[name=rating][value=satisfied]")
    later.click("button:has-text('提交评价')")
    later.wait_for_selector(".flash-success")
    assert "感谢您的评价" in later.inner_text(".flash-success")
    j.shot(later, "rated")
    case = case_by_number(db, number)
    assert case.state is CaseState.CLOSED and case.rating is Rating.SATISFIED
