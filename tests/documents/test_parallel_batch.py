"""A large batch is rendered in chunks by render processes and merged: same pages, same order."""
import io

from pypdf import PdfReader

from caseflow.documents import render
from caseflow.documents.context import order_form
from tests.documents.conftest import pdf_text


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
