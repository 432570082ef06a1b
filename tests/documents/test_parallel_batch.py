"""A large batch is rendered in chunks by render processes and merged: same pages, same order."""
import dataclasses
import io

import pytest
from pypdf import PdfReader

from caseflow.documents import render
from caseflow.documents.context import order_form
from tests.documents.conftest import pdf_text, save_png


def test_chunks_merge_in_order_with_the_batch_title(world, db, verification, monkeypatch):
    monkeypatch.setattr(render, "PARALLEL_MIN_FORMS", 2)
    forms = [order_form(verification)] * 5
    pdf = render.render_orders(forms, title="批量打印测试")
    assert pdf.pages == 5
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == 5
    assert reader.metadata.title == "批量打印测试"
    text = pdf_text(pdf.data)
    assert text.count(verification.number) >= 5
    single = render.html_to_pdf(render.orders_html(forms, title="批量打印测试"))
    assert single.pages == pdf.pages


def _sizes(data: bytes) -> list[tuple[int, int]]:
    return [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("parallel", [False, True])
def test_two_up_pairs_one_page_forms_and_keeps_long_ones_whole(world, db, verification, monkeypatch, parallel):
    """Two one-page forms per A4 landscape sheet; a form running over pages keeps its A4 pages, and a one-page
    form left without a partner keeps a page of its own."""
    if parallel:
        monkeypatch.setattr(render, "PARALLEL_MIN_FORMS", 2)
    short = order_form(verification)
    long = dataclasses.replace(short, number="HC2026-999999", content="学籍注册情况说明。" * 900)
    forms = [short, short, long, short, short, short]
    plain = render.render_orders(forms, title="两张一页")
    assert len(plain.starts) == 6 and plain.starts[:3] == (0, 1, 2)
    long_pages = plain.starts[3] - plain.starts[2]
    assert long_pages >= 2

    pdf = render.render_orders(forms, title="两张一页", two_up_sheets=True)
    assert pdf.pages == 1 + long_pages + 1 + 1
    assert _sizes(pdf.data) == [(842, 595)] + [(595, 842)] * long_pages + [(842, 595), (595, 842)]
    first = pdf_text(pdf.data, "-f", "1", "-l", "1")
    assert first.count(verification.number) >= 2 and "HC2026-999999" not in first
    assert "HC2026-999999" in pdf_text(pdf.data, "-f", "2", "-l", "2")
    last = pdf_text(pdf.data, "-f", str(pdf.pages), "-l", str(pdf.pages))
    assert verification.number in last
    assert PdfReader(io.BytesIO(pdf.data)).metadata.title == "两张一页"
    save_png(pdf.data, f"batch-two-up{'-parallel' if parallel else ''}")
