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
