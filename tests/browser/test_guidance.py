"""Journey: a parent on a phone looks up whom to call about a school, reads the FAQ, picks a category."""
from __future__ import annotations

import pytest

from caseflow.guidance import faq, rules
from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_directory_and_faq_on_a_phone(journey, app, db, world):
    county = world.unit("410105")
    county.hotline, county.address, county.office_hours = "0371-63330000", "郑州市金水区政七街", "工作日"
    rules.load()
    faq.seed()
    db.session.commit()
    j = journey("guidance")
    page = j.page(PHONE)

    page.goto("/")
    page.click("nav >> text=投诉渠道")
    page.fill("#q", "金水区第一")
    page.click("button:has-text('查找')")
    page.wait_for_selector("text=负责单位")
    assert "0371-63330000" in page.inner_text("main")
    j.shot(page, "directory")
    j.assert_fits(page)
    j.axe(page, "directory")

    page.click("nav >> text=常见问题")
    page.click("a:has-text('转学手续被拒或拖延')")
    page.click("a:has-text('我们搬家了')")
    page.wait_for_selector("text=政策依据")
    j.shot(page, "faq-answer")
    j.assert_fits(page)
    j.axe(page, "faq answer")

    page.click("text=仍要投诉")
    page.wait_for_selector("#category")
    assert page.input_value("#category") == "transfer"
    j.axe(page, "form after the faq")

    page.goto("/complaints/new")  # on the form itself, picking a category brings its answers
    assert not page.is_visible("text=我们搬家了，孩子要转学，学校可以不同意吗？")
    page.select_option("#category", "transfer")
    page.wait_for_selector("text=我们搬家了，孩子要转学，学校可以不同意吗？", state="visible")
    j.axe(page, "form with the category's answers")

    page.goto("/complaints/start")
    page.check("input[name=category][value=unregistered]")
    page.click("button:has-text('下一步')")
    page.wait_for_selector(".faq-first")
    assert page.input_value("#category") == "unregistered"
    j.shot(page, "category-step")
    j.axe(page, "category step")
