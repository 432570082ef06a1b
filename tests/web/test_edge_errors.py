"""Numbers no column can hold are refused at the edge (404/400), and the 500 page itself cannot fail."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_login import current_user

from tests.web.staff_support import Browser

HUGE = "4611686018427387904"
OVER_INT = "2147483648"


@pytest.mark.parametrize("url", ["/cases?page=" + HUGE, "/inbox?page=" + HUGE, "/cases?page=-" + HUGE,
                                 "/registry/problems?page=" + OVER_INT, "/notifications?page=" + OVER_INT])
def test_out_of_range_query_numbers_are_400(app, world, url):
    browser = Browser(app, world.user("supervisor", "410100"))
    resp = browser.get(url)
    assert resp.status_code == 400, (url, resp.status_code)
    assert "请求有误" in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/registry/imports/" + OVER_INT, "/admin/users/" + OVER_INT,
                                 "/registry/imports/" + HUGE])
def test_out_of_range_path_ids_are_404(app, world, url):
    browser = Browser(app, world.user("admin", "410000"))
    resp = browser.get(url)
    assert resp.status_code == 404, (url, resp.status_code)
    assert "页面不存在" in resp.get_data(as_text=True)


def test_out_of_range_posted_id_is_400(app, world):
    browser = Browser(app, world.user("supervisor", "410100"))
    assert browser.post("/notifications/read", data={"id": OVER_INT}).status_code in (400, 404)


def test_headcount_beyond_any_school_is_refused_by_the_field(app, world):
    browser = Browser(app, world.user("supervisor", "410105"))
    resp = browser.post("/registry/reports/headcount", data={"school_code": "4141000001", "grade": "四年级",
                                                             "counted_on": "2026-11-20", "counted": OVER_INT})
    assert resp.status_code == 200 and "请填写0到100000之间的人数" in resp.get_data(as_text=True)


@pytest.fixture
def failing_db_app(app, monkeypatch):
    """A test-only staff route that fails in the database after the signed-in user was loaded."""
    from caseflow.extensions import db

    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        assert current_user.is_authenticated  # loaded (cached) before the statement fails
        db.session.execute(sa.text("SELECT 1 / 0"))
        return "unreachable"

    app.add_url_rule("/_test/broken-sql", "test_broken_sql", broken)
    return app


def test_500_page_survives_a_failed_transaction(failing_db_app, world):
    browser = Browser(failing_db_app, world.user("supervisor", "410100"))
    resp = browser.get("/_test/broken-sql")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "系统出错" in body and "Internal Server Error" not in body
    assert "Content-Security-Policy" in resp.headers and resp.headers["X-Frame-Options"] == "DENY"
    # The signed-in page is shown (the user's unit loaded after the rollback), and the next request works.
    assert "郑州市教育局" in body
    assert browser.get("/inbox").status_code == 200
