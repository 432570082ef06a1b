"""An officer signs two orders at once from the inbox and downloads the inbox as CSV."""
from __future__ import annotations

import csv
import io

import pytest

from caseflow.models import OrderState
from tests.browser.conftest import OLD_DESKTOP
from tests.browser.support import fresh, send_verification
from tests.factories import submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_officer_signs_two_orders_at_once_and_downloads_the_inbox(journey, db, world):
    orders = [send_verification(world, submit(db)[0]) for _ in range(3)]
    j = journey("officer-bulk")
    page = j.page(OLD_DESKTOP)
    j.login(page, world.user("officer", "4141000001"))
    page.goto("/inbox")
    for order in orders[:2]:
        page.check(f"input[name=orders][value='{order.number}']")
    page.click("button:has-text('批量签收')")
    page.wait_for_selector("#bulk-done")
    assert sorted(page.locator("#bulk-done a").all_inner_texts()) == sorted(o.number for o in orders[:2])
    j.shot(page, "bulk-sign-result")
    j.axe(page, "bulk result")
    assert [fresh(db, o).state for o in orders] == [OrderState.SIGNED, OrderState.SIGNED, OrderState.SENT]

    page.goto("/inbox")
    with page.expect_download() as download:
        page.click("a[href^='/inbox/export.csv']:not([href*='full'])")
    with open(download.value.path(), encoding="utf-8-sig") as fh:
        text = fh.read()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][0] == "单号" and {r[0] for r in rows[1:]} == {o.number for o in orders}
    assert download.value.suggested_filename.startswith("待办列表-")
