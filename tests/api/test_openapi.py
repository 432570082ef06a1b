"""The API against its own generated OpenAPI 3.1 document, with schemathesis: no 5xx, every answer conforms."""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.factories import submit


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_conforms_to_the_document(app, db, world, api_token, mode):
    """Each operation, with valid and with invalid input (a bounded number of examples each): no 5xx, and
    every status, content type, header and body is as the document says.

    Not checked: that every schema-valid request succeeds (``positive_data_acceptance``). The intake's
    rules (an ID number's check character, a school that exists, an order in the right state) are no
    JSON Schema; their refusals are the documented 404/409/422 answers."""
    case_row, code = submit(db)
    _, _, headers = api_token("410105")
    app.config["API_MAX_CALLS"] = 100000  # the fuzzing must not run into the rate limit

    def isolated(environ, start_response):  # as IsolatedClient: a request never shares the test's session
        with app.app_context():
            return app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", isolated)
    status_path = "/api/v1/complaints/{number}"
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9

    for operation in operations:
        fixed = {}
        if mode is GenerationMode.POSITIVE and operation.path == status_path:  # the real case, its real code
            fixed = {"headers": {"X-Access-Code": code}, "path_parameters": {"number": case_row.number}}

        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  phases=[Phase.generate])
        def check(case):
            if mode is GenerationMode.POSITIVE or "Authorization" in (case.headers or {}):
                # The real token; a negative case that leaves the header out (a violation) keeps it out.
                case.headers = {**(case.headers or {}), **headers}
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()


def test_the_document_is_openapi_3_1_and_the_docs_page_is_local(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert {"/api/v1/complaints", "/api/v1/complaints/{number}", "/api/v1/orders", "/api/v1/orders/{number}/sign",
            "/api/v1/orders/{number}/report", "/api/v1/webhooks"} <= set(doc["paths"])
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "接口说明" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets  # no CDN
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    with client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and b"SwaggerUIBundle" in asset.get_data()
