"""Issue 20 items 2 and 3: one detector of ID numbers, registry numbers and phones in free text.

It masks the log (item 3), and every masked page and PDF (item 2); the full text stays
available to the responsible bureau, audited.
"""
from __future__ import annotations

import logging
from datetime import date

import pytest

from caseflow.cases import operations as ops
from caseflow.documents.service import print_order
from caseflow.models import AuditEntry, Verdict
from caseflow.security.redact import contains, redact
from tests.documents.conftest import flat, pdf_text
from tests.factories import make_id_number, submit
from tests.web.staff_support import Browser

ID = make_id_number("410105", date(1988, 5, 4), 311)
REG = "G410105201603011249"  # a valid G-number (the issue's example)


@pytest.mark.parametrize(("text", "masked"), [
    (REG, "G410105********1249"),
    ("J410105201603011249", "J410105********1249"),
    ("L410105201603011234", "L410105********1234"),
    (f"ID{ID}", f"ID{ID[:6]}********{ID[-4:]}"),
    (f"身份证{ID[:6]} {ID[6:14]} {ID[14:]}。", f"身份证{ID[:6]}********{ID[-4:]}。"),
    (f"id:{ID[:-1]}{ID[-1].lower()}", f"id:{ID[:6]}********{ID[-4:]}"),
    ("+8613912345678", "139****5678"),
    ("手机+86 139 1234 5678", "手机139****5678"),
    ("0086-13912345678", "139****5678"),
    ("电话139-1234-5678，", "电话139****5678，"),
    ("13912345678", "139****5678"),
    ("座机0371-65900000转", "座机0371****0000转"),
    ("（0371）6590 0000", "0371****0000"),
    ("410105880504041", "410105*****4041"),  # old 15-digit number
    ("手机１３９１２３４５６７８", "手机139****5678"),  # full-width digits
])
def test_masks_every_shape(text, masked):
    assert redact(text) == masked
    assert contains(text)


@pytest.mark.parametrize("text", [
    ID[:-1] + ("0" if ID[-1] != "0" else "1"),  # wrong check character: not an ID number
    "G410105201603011248",
    "XJ2026-000025 于2026-12-04 核单HC2026-000123",
    "1391234567890123",  # a longer run of digits is no phone
    "已发放补助12345678元",
])
def test_leaves_other_numbers_alone(text):
    assert redact(text) == text and not contains(text)


def test_log_records_are_masked(app, caplog):
    """Item 3: the log factory uses the same detector."""
    with caplog.at_level(logging.INFO):
        logging.getLogger("caseflow.test").info("reg %s, %s, phone %s / %s / %s", REG, f"ID{ID}",
                                                "+8613912345678", "139 1234 5678", "139-1234-5678")
    text = caplog.text
    for secret in (REG, ID, "13912345678", "1234 5678", "1234-5678"):
        assert secret not in text, secret
    assert "G410105********1249" in text and text.count("139****5678") == 3


def test_free_text_masked_on_pages_and_pdf_revealed_by_the_bureau(app, db, world):
    """Item 2: numbers typed into the complaint and the findings are masked for the school and on the masked PDF;
    the responsible bureau may reveal the full text, and the look is audited."""
    text = f"孩子身份证号{ID}，学籍号{REG}，我的手机+86 139-1234-5678，座机0371-65900000。"
    case, _ = submit(db, description=text)
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")], text)
    db.session.commit()
    ops.sign_order(officer, order, "李老师", "0371-65901111")
    ops.report_order(officer, order, text=f"经核实，家长电话13912345678属实，学生证件{ID}。",
                     verdict=Verdict.TRUE)
    db.session.commit()
    secrets = (ID, REG, "13912345678", "139-1234-5678", "65900000")
    school, county = Browser(app, officer), Browser(app, sup)
    for b, url in ((school, f"/cases/{case.number}"), (school, f"/orders/{order.number}"),
                   (county, f"/cases/{case.number}"), (county, f"/orders/{order.number}")):
        page = b.page(url)
        assert "139****5678" in page and "G410105********1249" in page, url
        for secret in secrets:
            assert secret not in page, (url, secret)
    masked_pdf = flat(pdf_text(print_order(officer, order.number).data))
    assert "139****5678" in masked_pdf and not any(s in masked_pdf for s in secrets)
    # The school may not reveal the text; the bureau may, and it is recorded.
    assert "显示完整文字" not in school.page(f"/cases/{case.number}")
    assert school.post(f"/cases/{case.number}/reveal", data={"person": "text", "field": "all"}).status_code == 403
    assert "显示完整文字" in county.page(f"/cases/{case.number}")
    resp = county.post(f"/cases/{case.number}/reveal", data={"person": "text", "field": "all"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and ID in page and "+86 139-1234-5678" in page
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "reveal")).all()
    assert [(e.user_id, e.detail) for e in entries] == [(sup.id, "text.all")]
    full_pdf = flat(pdf_text(print_order(sup, order.number, unmasked=True).data))
    assert ID in full_pdf


def test_order_page_texts_revealed_by_the_bureau_only(app, db, world):
    """The order page masks its texts too; the responsible bureau may show them in full (audited)."""
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    case, _ = submit(db)
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")], "请核实。")
    ops.sign_order(officer, order)
    ops.report_order(officer, order, text=f"经核实，家长证件号{ID}。", verdict=Verdict.TRUE)
    db.session.commit()
    school, county = Browser(app, officer), Browser(app, sup)
    assert ID not in county.page(f"/orders/{order.number}") and "显示完整文字" in county.page(f"/orders/{order.number}")
    assert "显示完整文字" not in school.page(f"/orders/{order.number}")
    reveal = {"person": "text", "field": "all"}
    assert school.post(f"/orders/{order.number}/reveal", data=reveal).status_code == 403
    resp = county.post(f"/orders/{order.number}/reveal", data=reveal)
    assert resp.status_code == 200 and ID in resp.get_data(as_text=True)
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "reveal")).all()
    assert [(e.user_id, e.target_ref, e.detail) for e in entries] == [(sup.id, case.number, "text.all")]
