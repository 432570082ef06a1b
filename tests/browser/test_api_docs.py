"""The API's readable document: Swagger UI from our own static files renders it under the page's CSP."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_the_api_docs_page_renders_the_document_from_local_assets(journey):
    j = journey("api-docs")
    page = j.page()
    outside = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(j.base_url) else None)
    resp = page.goto("/api/docs")
    assert resp.status == 200
    page.wait_for_selector("text=学籍投诉处理系统接口")  # the document's title, rendered by Swagger UI
    page.wait_for_selector("#swagger-ui .opblock")
    assert page.locator("#swagger-ui .opblock").count() == 9  # every operation of the document
    assert "提交投诉" in page.inner_text("#swagger-ui")
    assert not outside, outside  # no CDN, no font service: everything from this server
    j.shot(page, "api-docs")


def test_the_api_docs_page_speaks_chinese_where_swagger_ui_speaks(journey):
    """Swagger UI's own words on the read-only page (buttons, headings of an opened operation) are Chinese."""
    j = journey("api-docs-words")
    page = j.page()
    page.goto("/api/docs")
    page.wait_for_selector("#swagger-ui .opblock")
    page.locator("#swagger-ui .opblock-summary").first.click()
    # The opened operation whole: its request body (marked required) and its responses with their media types.
    page.wait_for_selector("#swagger-ui .opblock-body .parameter__name.required")
    page.wait_for_selector("#swagger-ui .opblock-body .responses-wrapper .response-control-media-type")
    shown = page.inner_text("#swagger-ui")
    for english in ("Authorize", "Schemas", "Parameters", "Responses", "Request body", "Example Value",
                    "required", "Controls Accept header"):
        assert english not in shown, english
    assert "填写令牌" in shown and "返回" in shown and "请求体" in shown
    drawn = page.evaluate("getComputedStyle(document.querySelector('#swagger-ui .parameter__name.required'), "
                          "'::after').content")
    assert drawn == '"必填"', drawn  # the stylesheet's own word for a required body
    j.shot(page, "api-docs-opened")
