"""Journeys for the workbench of issue 17: the order page's next step and the registry lookup from it,
notifications, administration (user edit, units tree, calendar), the citizen's stepper, print, axe.

Screenshots at 1366×768 (desktop) and 375×812 (phone); the ones in docs/screenshots/ come from here.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from caseflow.cases import operations as ops
from caseflow.extensions import db as _db
from caseflow.models import OrderState
from tests.browser.conftest import PHONE
from tests.browser.support import fresh, send_verification
from tests.factories import submit
from tests.registry.helpers import do_import, student, write_csv

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

WIDE = {"width": 1366, "height": 768}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _doc(path: Path, name: str) -> None:
    """Keep a journey's screenshot as the documented one, reduced to 64 colours like the others."""
    from PIL import Image

    with Image.open(path) as img:
        img.convert("RGB").quantize(64).save(DOCS / f"{name}.png", optimize=True)


def test_officer_order_page_next_step_and_lookup(journey, app, db, world, tmp_path):
    case, _ = submit(db)
    order = send_verification(world, case)
    # Both systems hold the student, with different names: the lookup marks the name.
    do_import(write_csv(tmp_path / "n.csv", [student()]), "national")
    do_import(write_csv(tmp_path / "p.csv", [student(name="张晓明")]), "provincial")
    j = journey("workbench-officer")
    page = j.page(WIDE)
    j.login(page, world.user("officer", "4141000001"))
    assert page.url.endswith("/inbox")  # an officer lands on the inbox
    assert page.locator("nav a[aria-current=page]").inner_text() == "待办"
    page.goto(f"/orders/{order.number}")
    assert page.is_visible("#act-sign")
    assert not page.is_visible("#act-return form")  # collapsed
    assert page.locator("details#act-return summary").is_visible()
    _doc(j.shot(page, "order-next-step"), "officer-order-next-step")
    phone = j.page(PHONE)
    j.login(phone, world.user("officer", "4141000001"))
    phone.goto(f"/orders/{order.number}")
    j.assert_fits(phone)
    _doc(j.shot(phone, "order-next-step-phone"), "officer-order-next-step-phone")
    j.assert_fits(page)
    j.axe(page, "order page")
    # Print: no navigation, no action cards.
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar") and not page.is_visible("#act-sign")
    page.emulate_media(media="screen")

    page.fill("#sign-acting_person", "李老师")
    page.click("#act-sign button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert fresh(db, order).state is OrderState.SIGNED
    assert page.locator("#act-report h3").inner_text() == "下一步：报送核查情况"

    page.click("text=查询该学生学籍")
    page.wait_for_url(f"**/cases/{case.number}/registry")
    assert page.locator("td.differs mark").first.inner_text() in ("张小明", "张晓明")
    button = page.locator("button:has-text('关联到本投诉')").first
    box = button.bounding_box()
    assert box["height"] < 45 and box["width"] > box["height"] * 2, box  # one line, not a character per line
    j.assert_fits(page)
    _doc(j.shot(page, "registry-differs"), "officer-registry-differs")
    j.axe(page, "registry lookup with differences")

    page.goto("/registry/reports")
    j.axe(page, "registry reports")
    page.goto("/account/password")
    assert page.locator("nav a[aria-current=page]").inner_text() == "修改密码"
    j.axe(page, "password page")


def test_supervisor_lands_on_the_dashboard_and_reads_notifications(journey, app, db, world):
    case, _ = submit(db)
    order = send_verification(world, case)
    j = journey("workbench-supervisor")
    page = j.page(WIDE)
    j.login(page, world.user("supervisor", "410105"))
    assert page.url.endswith("/dashboard")
    page.goto(f"/cases/{case.number}")
    assert page.locator("nav.breadcrumbs").is_visible()
    j.axe(page, "case page")
    page.goto(f"/orders/{order.number}")
    j.axe(page, "order page, issuer")
    page.goto("/notifications")
    j.axe(page, "notifications")


def test_admin_edits_a_user_and_walks_the_units_tree_and_calendar(journey, app, db, world, tmp_path):
    do_import(write_csv(tmp_path / "n.csv", [student(seq=s, school=c) for s, c in
                                             ((123, "4141000001"), (125, "4141000002"), (127, "4141000004"))]))
    j = journey("workbench-admin")
    page = j.page(WIDE)
    j.login(page, world.user("admin", "410000"))
    assert page.url.endswith("/admin")
    assert page.locator("nav a:has-text('学籍导入')").count() == 1
    narrow = j.page({"width": 1024, "height": 768})  # the report's wide table scrolls: by keyboard too
    j.login(narrow, world.user("admin", "410000"))
    for level in ("city", "county", "school"):
        narrow.goto(f"/registry/reports?level={level}")
        j.axe(narrow, f"registry reports by {level}")
    user = world.user("officer", "4141000001")
    page.goto(f"/admin/users/{user.id}")
    page.fill("#name", "李四")
    page.click("#edit button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert fresh(db, user).name == "李四"
    j.axe(page, "user page")
    _doc(j.shot(page, "user-edit"), "admin-user-edit")
    page.goto("/admin/users")
    assert page.locator("#role").input_value() == ""
    page.goto("/admin/units")
    page.click("a.tree-toggle[aria-label='展开郑州市教育局']")  # opens in place (units-tree.js)
    page.click("a.tree-toggle[aria-label='展开金水区教育局']")
    page.wait_for_selector("text=郑州市金水区第一小学")
    assert page.url.endswith("/admin/units")
    assert page.get_attribute("a.tree-toggle[data-name='郑州市教育局']", "aria-expanded") == "true"
    j.axe(page, "units tree, opened in place")
    _doc(j.shot(page, "units-tree"), "admin-units-tree")
    page.click("a.tree-toggle[aria-label='收起郑州市教育局']")
    assert not page.is_visible("text=郑州市金水区第一小学")
    page.click("a:has-text('郑州市教育局')")  # the name is a link to the tree opened there
    page.wait_for_url("**/admin/units?open=410100")
    page.goto("/admin/calendar?year=2026")
    assert page.locator("table.cal-month").count() == 12
    assert not page.is_checked("#confirm")
    j.axe(page, "calendar")
    j.assert_fits(page)
    _doc(j.shot(page, "calendar"), "admin-calendar-months")


def test_citizen_stepper_and_form_errors_in_one_round(journey, app, db, world):
    world.unit("410105").address = "郑州市金水区文化路1号金水区教育局学籍管理科"
    case, code = submit(db)
    ops.accept_case(world.user("supervisor", "410105"), case)
    _db.session.commit()
    j = journey("workbench-citizen")
    page = j.page(PHONE)
    page.goto("/track")
    page.fill("#number", case.number)
    page.fill("#code", code)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/track/{case.number}")
    current = page.locator(".stepper [aria-current=step]")
    assert "核查" in current.inner_text()
    assert "现在：等待金水区教育局" in page.inner_text("main")
    assert "文化路1号" in page.inner_text("main")  # where to go or write, beside the complaint phone
    j.assert_fits(page)
    j.axe(page, "tracking page with the stepper")
    _doc(j.shot(page, "stepper"), "citizen-tracking-stepper-phone")

    page.goto("/complaints/new")
    page.fill("#complainant_id_number", "410105198805043110")  # wrong check character
    page.click("main button[type=submit]")
    page.wait_for_selector("#error-summary")
    summary = page.inner_text("#error-summary")
    assert "校验位" in summary
    # A link to a group of radios focuses a radio of the group.
    page.locator("#error-summary a[href='#complainant_sex']").click()
    assert page.evaluate("document.activeElement.name") == "complainant_sex"
    j.axe(page, "complaint form with errors")
    j.shot(page, "form-errors")


def test_desktop_pages_fit_and_pass_axe(journey, app, db, world):
    """The other pages this issue changed, on the desktop size the screenshots use."""
    j = journey("workbench-desktop")
    page = j.page(WIDE)
    page.goto("/")
    assert page.locator("footer").inner_text().count("主办单位") == 1
    assert page.locator("link[rel=icon]").count() == 1
    j.axe(page, "home")
