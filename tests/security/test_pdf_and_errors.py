"""The PDF renderer fetches nothing, and a 500 is a Chinese page with a request id and no stack trace."""
from __future__ import annotations

import logging
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from caseflow.cases import operations
from caseflow.documents.render import RefusedURL, html_to_pdf
from caseflow.models import Case
from tests.factories import make_id_number
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def trap():
    """A local HTTP server that records any request (and answers with a redirect to a file)."""
    _Recorder.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Recorder.hits
    server.shutdown()
    server.server_close()


def test_renderer_refuses_file_remote_and_redirected_urls(app, trap):
    base, hits = trap
    for src in ("file:///etc/passwd", f"{base}/img.png", f"{base}/redirect"):
        with pytest.raises(RefusedURL):
            html_to_pdf(f'<html><body><p>x</p><img src="{src}"></body></html>')
    with pytest.raises(RefusedURL):
        html_to_pdf(f'<html><head><link rel="stylesheet" href="{base}/a.css"></head><body>x</body></html>')
    assert hits == []
    assert html_to_pdf('<p>ok</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">').data[:5] == b"%PDF-"


def test_complaint_text_with_images_prints_without_fetching(app, db, world, trap):
    base, hits = trap
    text = f'<img src="file:///etc/passwd"> <img src="{base}/leak.png"> <link rel=stylesheet href="{base}/x.css">孩子学籍'
    citizen = Browser(app)
    assert citizen.post("/complaints/new", data=valid_form(description=text, token="tok-pdf-fetch-0001")
                        ).status_code == 302
    case = db.session.scalars(sa.select(Case)).one()
    sup = world.user("supervisor", "410105")
    operations.accept_case(sup, case)
    (order,) = operations.issue_verification(sup, case, [world.unit("4141000001")], text)
    db.session.commit()
    receipt = citizen.get(f"/track/{case.number}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.data[:5] == b"%PDF-"
    printed = Browser(app, sup).get(f"/orders/{order.number}/pdf")
    assert printed.status_code == 200 and printed.data[:5] == b"%PDF-"
    assert b"root:x:0:0" not in printed.data and b"root:x:0:0" not in receipt.data
    assert hits == []


SECRET_ID = make_id_number("410103", date(1980, 1, 2), 345)


@pytest.fixture
def crashing_app(app, monkeypatch):
    """The test app with one test-only public route that fails with personal data in the exception."""
    from caseflow.web import auth

    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise ValueError(f"cannot handle {SECRET_ID} / 13912345678")

    app.add_url_rule("/_test/boom", "test_boom", boom)
    # Public, like the citizen pages whose crashes an anonymous visitor sees (deny-by-default closes it otherwise).
    monkeypatch.setattr(auth, "PUBLIC_ENDPOINTS", auth.PUBLIC_ENDPOINTS | {"test_boom"})
    return app


def test_500_page_is_chinese_with_request_id_and_no_trace(crashing_app, caplog):
    caplog.set_level(logging.DEBUG)
    client = crashing_app.test_client()
    resp = client.get("/_test/boom", headers={"X-Request-Id": "req-abc123"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "系统出错" in body and "req-abc123" in body and "请求编号" in body
    assert "Traceback" not in body and "ValueError" not in body and SECRET_ID not in body
    # A fresh id when none is given.
    assert "请求编号" in client.get("/_test/boom").get_data(as_text=True)
    # The exception is logged, with the personal data masked.
    assert "ValueError" in caplog.text and "Traceback" in caplog.text
    assert SECRET_ID not in caplog.text and "13912345678" not in caplog.text
    assert SECRET_ID[:6] + "********" + SECRET_ID[-4:] in caplog.text


def test_debug_is_off_unless_development(monkeypatch):
    from caseflow import create_app

    assert create_app({"TESTING": True}).debug is False
    monkeypatch.setenv("CASEFLOW_ENV", "production")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="FLASK_DEBUG"):
        create_app()
    monkeypatch.setenv("FLASK_DEBUG", "0")
    app = create_app()
    assert app.debug is False and app.config["SESSION_COOKIE_SECURE"] is True
