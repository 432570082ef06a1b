"""Journey: a school asks to stop an order's clock (中止计时); its district approves; every page says so."""
from __future__ import annotations

import pytest

from caseflow.cases import operations as ops
from caseflow.extensions import db as _db
from caseflow.models import ExtensionState, OrderState
from tests.browser.conftest import OLD_DESKTOP
from tests.browser.support import fresh, send_verification
from tests.factories import submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_school_asks_a_pause_and_the_district_approves(journey, app, db, world):
    case, _ = submit(db)
    order = send_verification(world, case)
    ops.sign_order(world.user("officer", "4141000001"), order)
    _db.session.commit()
    j = journey("pause")

    school = j.page(OLD_DESKTOP)
    j.login(school, world.user("officer", "4141000001"))
    school.goto(f"/orders/{order.number}")
    school.click("#act-pause summary")  # one of the rarer actions, closed until wanted
    school.fill("#pause-detail", "请家长补充转学证明。")
    school.click("#act-pause button[type=submit]")
    school.wait_for_selector("#act-pause .err")  # no reason picked: said by the field, the note kept
    assert "请选择中止计时的原因" in school.inner_text("#act-pause")
    assert school.input_value("#pause-detail") == "请家长补充转学证明。"
    j.axe(school, "pause request with an error")
    school.check("input[name=pause-reason][value=awaiting_complainant]")
    school.click("#act-pause button[type=submit]")
    school.wait_for_selector(".flash-success")
    assert fresh(db, order).pauses[0].state is ExtensionState.PENDING
    j.shot(school, "pause-asked")

    district = j.page(OLD_DESKTOP)
    j.login(district, world.user("supervisor", "410105"))
    district.goto("/inbox")
    assert "待审批中止计时申请" in district.inner_text("main")
    district.click(f"a:has-text('{order.number}')")
    district.wait_for_url(f"**/orders/{order.number}")
    assert "请家长补充转学证明。" in district.inner_text("#act-decidepause")
    j.axe(district, "pause decision")
    j.shot(district, "pause-to-decide")
    district.click("#act-decidepause [name=decidepause-approve]")
    district.wait_for_selector(".flash-success")
    assert fresh(db, order).state is OrderState.PAUSED
    assert "已暂停计时" in district.inner_text(".order-facts")
    j.shot(district, "paused")

    school.goto("/orders")
    row = school.locator("tr", has_text=order.number)
    assert "已暂停计时" in row.inner_text()
    j.assert_fits(school)
