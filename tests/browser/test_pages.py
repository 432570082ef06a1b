"""Pages every role meets: the Chinese 404 page, the keyboard path into a form, axe on the other pages."""
from __future__ import annotations

import pytest

from tests.browser.conftest import OLD_DESKTOP, PHONE

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_not_found_page_is_chinese_and_accessible(journey):
    j = journey("pages")
    page = j.page(PHONE)
    resp = page.goto("/no-such-page")
    assert resp.status == 404
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "页面不存在" in page.inner_text("main") or "找不到" in page.inner_text("main")
    j.shot(page, "not-found")
    j.axe(page, "404 page")


def test_keyboard_reaches_the_form(journey):
    """Tab first lands on the skip link, which moves focus to the main content; fields follow in order."""
    j = journey("keyboard")
    page = j.page()
    page.goto("/track")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert order == ["number", "code", "查询"]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused button shows no focus outline"


def test_axe_finds_what_it_should(journey):
    """The check is live: a page with an unlabelled field and an image without text fails it."""
    j = journey("axe-self-check")
    page = j.page()
    page.goto("/")
    page.evaluate("""() => { document.querySelector('main').insertAdjacentHTML('beforeend',
        '<input type=text><img src="/static/none.png">'); }""")
    with pytest.raises(AssertionError, match=r"\[critical\] (label|image-alt)"):
        j.axe(page, "a broken page")


@pytest.mark.parametrize(("role", "unit", "paths"), [
    ("admin", "410000", ["/admin", "/admin/units", "/admin/users", "/admin/settings", "/account/password"]),
    ("intake", "410105", ["/intake/new", "/cases"]),
])
def test_other_pages_pass_axe(journey, world, role, unit, paths):
    """The remaining staff pages: no serious or critical axe violations, and they fit an old screen."""
    j = journey(f"axe-{role}")
    page = j.page(OLD_DESKTOP)
    j.login(page, world.user(role, unit))
    for path in paths:
        assert page.goto(path).status == 200, path
        j.axe(page, path)
        j.assert_fits(page)
