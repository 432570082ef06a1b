"""Helpers for the staff web tests: a browser whose every request runs in its own app context.

The test client reuses the test's app context (and so its ``g`` and session); two
officials in one test would then share Flask-Login's cached user. A fresh context
per request behaves like separate requests to a real server.
"""
from __future__ import annotations

import re

from tests.conftest import TEST_PASSWORD


class Browser:
    """One official's browser session."""

    def __init__(self, app, user=None):
        self.app = app
        self.client = app.test_client()
        if user is not None:
            self.login(user)

    def open(self, method: str, url: str, **kw):
        with self.app.app_context():
            resp = self.client.open(url, method=method, **kw)
            resp.get_data()  # read it all (a download streams from a file) and let go of the file
            resp.close()
            return resp

    def get(self, url: str, **kw):
        return self.open("GET", url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):
        return self.open("POST", url, data=data or {}, **kw)

    def page(self, url: str) -> str:
        resp = self.get(url)
        assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
        return resp.get_data(as_text=True)

    def login(self, user) -> Browser:
        resp = self.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return self

    def act(self, url: str, prefix: str, version: int | None = None, **fields):
        """Post one action form (field names get the form's prefix); expects the redirect of success."""
        resp = self.post(url, data=form_data(prefix, version, **fields))
        assert resp.status_code == 302, (url, resp.status_code, errors_of(resp.get_data(as_text=True)))
        return resp


def form_data(prefix: str, version: int | None = None, **fields) -> dict:
    data = {f"{prefix}-{k}": v for k, v in fields.items()}
    if version is not None:
        data[f"{prefix}-version"] = str(version)
    return data


def errors_of(html: str) -> list[str]:
    """The error messages shown on a page (summary and by the fields)."""
    return re.findall(r'class="err"[^>]*>([^<]+)<', html) + re.findall(r"<li>([^<]+)</li>", html)


def fresh(db, obj):
    """The object as the database has it now (other requests committed in other sessions)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)
