"""The two official forms, read back from the PDF bytes with poppler."""
from __future__ import annotations

import re

import pytest

from caseflow.cases import operations as ops
from caseflow.documents.render import RefusedURL, html_to_pdf
from caseflow.documents.service import print_order
from caseflow.errors import NotAllowed
from caseflow.extensions import db
from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.models import AuditEntry
from caseflow.timeutil import format_date_cn, local_date
from tests.documents.conftest import flat, pdf_fonts, pdf_info, pdf_text, save_png

PERSON_LABELS = ["投诉人姓名", "性别", "年龄", "民族", "身份证号", "联系电话", "学生姓名", "学生学籍号", "学生身份证号"]
VERIFICATION_LABELS = [
    "群众投诉中小学生学籍管理问题核查单", "编号", *PERSON_LABELS, "所投诉事项(由处理责任单位填写)",
    "处理责任单位", "责任人", "承办单位", "承办人", "交办时间", "完成时限", "年", "月", "日",
    "经核实的情况(由承办单位填写)",
]
SUPERVISION_LABELS = [
    "群众投诉中小学生学籍管理问题督办单", "编号", *PERSON_LABELS, "投诉事项", "督办单位", "责任人",
    "承办单位", "承办人", "督办时间", "完成时限", "办理意见", "办理情况(承办单位填写)",
]


def _order_values(order) -> list[str]:
    case = order.case
    c, s = case.complainant, case.student
    return [
        order.number, c.name, c.sex.label, str(c.age), c.ethnicity, c.id_number, c.phone,
        s.name, s.sex.label, str(s.age), s.ethnicity, s.registry_no, s.id_number,
        order.content, order.issuing_unit.name, order.responsible_person, order.responsible_phone,
        order.receiving_unit.name, order.acting_person, order.acting_phone,
        format_date_cn(local_date(order.sent_at)), format_date_cn(order.due_on),
    ]


def _print_full(world, order, png: str) -> str:
    printed = print_order(world.user("supervisor", "410105"), order.number, unmasked=True)
    db.session.commit()
    assert printed.pages == 1
    save_png(printed.data, png)
    return flat(pdf_text(printed.data))


def _assert_all_in(text: str, expected: list[str]) -> None:
    for item in expected:
        assert flat(item) in text, item
    assert "None" not in text


def test_verification_form_prints_every_label_and_value(world, verification):
    text = _print_full(world, verification, "verification")
    _assert_all_in(text, [*VERIFICATION_LABELS, *_order_values(verification), verification.findings])


def test_supervision_form_prints_every_label_and_value(world, supervision):
    text = _print_full(world, supervision, "supervision")
    _assert_all_in(text, [*SUPERVISION_LABELS, *_order_values(supervision), supervision.handling_opinion,
                          supervision.handling_result])
    assert "核查单" not in text and "经核实的情况" not in text


def test_fields_not_yet_filled_print_as_empty_cells(world, case):
    order = ops.issue_verification(world.user("supervisor", "410105"), case, [world.unit("4141000001")])[0]
    db.session.commit()
    text = pdf_text(print_order(world.user("officer", "4141000001"), order.number).data)
    assert "None" not in text
    assert "承办人" in text and "经核实的情况" in text
    # The 承办人 cell is empty until the order is signed for.
    assert re.search(r"承办人\s*\n\s*联系电话", text) or "李老师" not in text


def test_cjk_fonts_are_embedded_as_subsets_and_the_form_is_small(world, verification):
    data = print_order(world.user("supervisor", "410105"), verification.number).data
    db.session.commit()
    rows = [line for line in pdf_fonts(data).splitlines() if "CJK" in line]
    families = {re.sub(r"^[A-Z]{6}\+", "", line.split()[0]) for line in rows}
    assert {"Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC-Bold"} <= families
    for line in rows:
        assert re.match(r"^[A-Z]{6}\+", line), line  # subset prefix
        assert " yes yes yes " in line, line  # embedded, subset, with a ToUnicode map
    assert len(data) <= 300 * 1024


def test_metadata_names_the_form_and_number(world, verification):
    data = print_order(world.user("supervisor", "410105"), verification.number).data
    db.session.commit()
    info = pdf_info(data)
    assert f"Title:           群众投诉中小学生学籍管理问题核查单 {verification.number}" in info
    assert re.search(r"Page size: +595\.2\d* x 841\.89 pts \(A4\)", info)


def test_masked_by_default_unmasked_is_audited(world, db, verification):
    case = verification.case
    officer = world.user("officer", "4141000001")
    masked = flat(pdf_text(print_order(officer, verification.number).data))
    db.session.commit()
    assert case.complainant.id_number not in masked and case.student.id_number not in masked
    assert case.complainant.phone not in masked
    assert mask_id_number(case.complainant.id_number) in masked
    assert mask_phone(case.complainant.phone) in masked
    assert mask_registry_number(case.student.registry_no) in masked
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "print")) == 0

    # The school may not print the complainant in full (issue 20 item 4); the responsible bureau may.
    with pytest.raises(NotAllowed):
        print_order(officer, verification.number, unmasked=True)
    county = world.user("supervisor", "410105")
    full = flat(pdf_text(print_order(county, verification.number, unmasked=True).data))
    db.session.commit()
    assert case.complainant.id_number in full and case.student.registry_no in full
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "print")).one()
    assert (entry.user_id, entry.target_type, entry.target_ref) == (county.id, "order", verification.number)
    assert entry.subject_hash is not None


def test_long_findings_continue_on_further_pages_with_the_header(world, case):
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    order = ops.issue_verification(sup, case, [world.unit("4141000001")])[0]
    db.session.commit()
    ops.sign_order(officer, order)
    long_text = "\n".join(f"{i}. 经核实，该生于2024年9月入学，学校未在规定时间内办理学籍注册手续，已责令整改并补办。"
                          for i in range(1, 121))
    ops.report_order(officer, order, text=long_text, verdict=ops.Verdict.TRUE)
    db.session.commit()
    printed = print_order(sup, order.number)
    db.session.commit()
    save_png(printed.data, "verification-long")
    assert printed.pages >= 3
    for page in range(1, printed.pages + 1):
        page_text = pdf_text(printed.data, "-f", str(page), "-l", str(page))
        assert "群众投诉中小学生学籍管理问题核查单" in page_text, page
        assert order.number in page_text, page
    # Join the pages again: drop each page's footer and the repeated header of the next.
    text = re.sub(r"第\d+页/共\d+页群众投诉中小学生学籍管理问题核查单（续）编号：" + re.escape(order.number), "",
                  flat(pdf_text(printed.data)))
    for line in long_text.splitlines():  # nothing cut off (the repeated header sits between pages)
        assert flat(line) in text, line


def test_renderer_refuses_file_and_remote_urls(app):
    for url in ("file:///etc/passwd", "http://127.0.0.1:1/x.png", "https://example.com/a.css"):
        with pytest.raises(RefusedURL):
            html_to_pdf(f'<p>x</p><img src="{url}">')
    assert html_to_pdf('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">').pages == 1
