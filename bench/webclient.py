"""A tiny HTTP browser for the load bench and the fault tests: cookies, CSRF, forms, uploads.

Standard library only (``http.client``), one connection per request, redirects
not followed, so every answer is seen and timed.  Loopback only.
"""
from __future__ import annotations

import http.client
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN = re.compile(r'name="token"[^>]*value="([^"]*)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class Browser:
    """One visitor: a cookie jar against ``http://127.0.0.1:<port>``."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}
        self._companion: Browser | None = None

    @property
    def companion(self) -> Browser:
        """A second, anonymous visitor of this one's (the citizen whose complaint precedes a timed request)."""
        if self._companion is None:
            self._companion = Browser(self.port, timeout=self.timeout)
        return self._companion

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        for value in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                      data.decode("utf-8", "replace"), elapsed)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str], files: list[tuple[str, str, bytes]] | None = None) -> Answer:
        """POST a form; with ``files`` ([(field, filename, bytes)]) as multipart/form-data."""
        if not files:
            return self.request("POST", path, urllib.parse.urlencode(fields).encode(),
                                "application/x-www-form-urlencoded")
        boundary = "----caseflow" + secrets.token_hex(12)
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                         + str(value).encode() + b"\r\n")
        for name, filename, data in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                         + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def form_fields(self, page: str) -> dict[str, str]:
        """The CSRF token and the submission token of a rendered form."""
        fields = {}
        if m := CSRF.search(page):
            fields["csrf_token"] = m.group(1)
        if m := TOKEN.search(page):
            fields["token"] = m.group(1)
        return fields

    def login(self, username: str, password: str) -> Answer:
        page = self.get("/login")
        return self.post("/login", {**self.form_fields(page.body), "username": username, "password": password})
