"""Journey 2: a school officer signs a verification order, looks the student up, reports, attaches a PDF."""
from __future__ import annotations

import pytest

from caseflow.models import Attachment, OrderState, Verdict
from tests.browser.conftest import OLD_DESKTOP
from tests.browser.support import FINDINGS, PDF, fresh, send_verification
from tests.factories import submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_officer_works_an_order(journey, app, db, world, tmp_path):
    case, _ = submit(db)
    order = send_verification(world, case)
    j = journey("officer")
    page = j.page(OLD_DESKTOP)

    page.goto("/login")
    j.shot(page, "login")
    j.axe(page, "login")
    j.login(page, world.user("officer", "4141000001"))
    page.goto("/inbox")
    assert order.number in page.inner_text("main")
    j.shot(page, "inbox")
    j.assert_fits(page)
    j.axe(page, "inbox")

    page.click(f"a:has-text('{order.number}')")
    page.wait_for_url(f"**/orders/{order.number}")
    j.shot(page, "order")
    j.assert_fits(page)
    j.axe(page, "order page")

    page.fill("#sign-acting_person", "李老师")
    page.click("#act-sign button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert fresh(db, order).state is OrderState.SIGNED

    if j.guarded(app, "/cases/<number>/registry", "look the student up"):
        page.goto(f"/cases/{case.number}/registry")
        assert page.locator("main").inner_text().strip()
        j.shot(page, "registry-lookup")
        j.axe(page, "registry lookup")
        page.goto(f"/orders/{order.number}")

    # Findings: first without text, to see the message by the field; then for real.
    page.check("input[name=report-verdict][value=true]")
    page.click("#act-report button[type=submit]")
    page.wait_for_selector("#act-report .err")
    assert "请填写" in page.inner_text("#act-report .err")
    assert page.is_checked("input[name=report-verdict][value=true]")
    j.axe(page, "order page with an error")
    page.fill("#report-text", FINDINGS)
    page.click("#act-report button[type=submit]")
    page.wait_for_selector(".flash-success")
    order = fresh(db, order)
    assert order.state is OrderState.REPORTED and order.verdict is Verdict.TRUE and order.findings == FINDINGS

    proof = tmp_path / "核查材料.pdf"
    proof.write_bytes(PDF)
    page.click("#act-attach summary")  # the upload is one of the collapsed, rarer actions
    page.set_input_files("#attach-file", str(proof))
    page.click("#act-attach button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert page.locator("ul.attachments a", has_text="核查材料.pdf").count() == 1
    j.shot(page, "reported-with-pdf")
    names = db.session.scalars(db.select(Attachment.original_name).where(Attachment.order_id == order.id))
    assert list(names) == ["核查材料.pdf"]
