"""Every page of the demo, for every role: no English word reaches a user, no escaped markup shows.

Each demo account logs in, lands where its role's work is, and follows every link it can reach from
there (plus a fixed list of routes and forms posted with bad input, whose error pages are pages
too); the citizen side is walked with each demo case's number and access code.  Each HTML page's
visible text (and the attributes a user reads or hears: title, placeholder, aria-label, alt) may
hold Latin letters only in codes (case numbers, ID and registry numbers) and in an allow-list of
abbreviations; ``&lt;`` in the markup means the page shows escaped markup as text.
"""
from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
import sqlalchemy as sa

from caseflow.demo import DEMO_ACCESS_CODE, load_demo
from caseflow.models import Case, Order, RegistryImport, User
from tests.web.staff_support import Browser

pytestmark = pytest.mark.postgres

# Abbreviations a Chinese user reads as they are (file types, sizes, the filing number's ICP, IP).
# The case number's prefix and text encodings as Excel's save dialog names them, too.  Names and codes
# that are not language (an authenticator app's name, a TOTP secret) are marked translate="no".
ALLOWED = {"PDF", "XLSX", "CSV", "JPG", "PNG", "KB", "MB", "GB", "ICP", "IP", "XJ", "UTF", "GBK"}
# Never followed: leaving, downloads, and pages that change something on GET (none should).
SKIP = re.compile(r"^/(logout|static/)|\.(pdf|csv|xlsx)$|/pdf$|/rejects\.csv|/attachments/|format=(pdf|xlsx|csv)"
                  r"|/export")
FIXED = ["/", "/complaints/new", "/track", "/account/password", "/account/totp", "/notifications", "/inbox",
         "/cases", "/orders", "/intake/new", "/registry/lookup", "/registry/problems", "/registry/reports",
         "/registry/reports/headcount", "/registry/imports", "/dashboard", "/escalations", "/reports/monthly",
         "/documents/batch", "/admin", "/admin/calendar", "/admin/units", "/admin/users", "/admin/settings",
         "/admin/audit", "/admin/deliveries", "/no-such-page"]
VARIANTS = 3  # URLs per path: other months of a report, other pages of a list are the same page
MAX_PAGES = 160  # per role: enough for every kind of page in the demo, bounded so the test stays quick


class _Text(HTMLParser):
    """The text a user sees or hears on a page."""

    SPOKEN = ("title", "placeholder", "aria-label", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._untranslated: list[str] = []  # the open elements marked translate="no"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "svg"):
            self._hidden += 1
        if attrs.get("translate") == "no" or (self._untranslated and tag == self._untranslated[-1]):
            self._untranslated.append(tag)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        self.parts.extend(v for k, v in attrs.items() if k in self.SPOKEN and v)
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg") and self._hidden:
            self._hidden -= 1
        if self._untranslated and tag == self._untranslated[-1]:
            self._untranslated.pop()

    def handle_data(self, data):
        if not self._hidden and not self._untranslated:
            self.parts.append(data)


def latin_words(text: str, data_words: set[str]) -> set[str]:
    """Latin words in ``text`` that are neither codes, allowed abbreviations nor the demo's own data."""
    found = set()
    for match in re.finditer(r"[A-Za-z][A-Za-z0-9]*", text):
        word = match.group()
        before, after = text[max(0, match.start() - 1):match.start()], text[match.end():match.end() + 1]
        if any(c.isdigit() for c in word) or before.isdigit() or after.isdigit() or after == "*":
            continue  # a code: XJ2026-000123, G4101…, 410102********123X, A4
        if len(word) == 1 or word.upper() in ALLOWED or word.lower() in data_words:  # 19位，G/J/L开头
            continue
        found.add(word)
    return found


def check_page(url: str, html: str, data_words: set[str], problems: list[str]) -> list[str]:
    """Add what is wrong with one page to ``problems``; return its links."""
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    if "&lt;" in html.replace("&amp;lt;", "&lt;") and re.search(r"&lt;/?[a-zA-Z]", html):
        problems.append(f"{url}: escaped markup shows as text: {re.search(r'.{0,40}&lt;/?[a-zA-Z].{0,40}', html)[0]}")
    words = latin_words(text, data_words)
    if words:
        problems.append(f"{url}: Latin words {sorted(words)}")
    for iso in ISO_DATE.finditer(text):
        if not re.search(r"[如“]", text[max(0, iso.start() - 4):iso.start()]):  # not a hint how to type one
            problems.append(f"{url}: an ISO date or month shows instead of 2026年12月4日: {iso[0]}")
    return parser.links


# 2026-12-04 or 2026-12 in a page's text (form values and links are not text); not a number like XJ2026-000123.
ISO_DATE = re.compile(r"(?<![A-Za-z0-9])20\d\d-(0[1-9]|1[0-2])(-\d\d)?(?![0-9])")


def crawl(browser: Browser, start: list[str], data_words: set[str], problems: list[str]) -> set[str]:
    """Visit ``start`` and every same-site link reachable from it; return the paths seen."""
    seen: set[str] = set()
    per_path: dict[str, int] = {}
    queue = deque(start)
    while queue and len(seen) < MAX_PAGES:
        url = urldefrag(queue.popleft())[0]
        path = urlsplit(url).path
        if url in seen or SKIP.search(url) or per_path.get(path, 0) >= VARIANTS:
            continue
        seen.add(url)
        per_path[path] = per_path.get(path, 0) + 1
        resp = browser.get(url)
        if resp.status_code in (301, 302, 303):
            queue.appendleft(resp.headers["Location"])
            continue
        if resp.status_code >= 500:
            problems.append(f"{url}: status {resp.status_code}")
        if "text/html" not in resp.content_type:
            continue
        for link in check_page(url, resp.get_data(as_text=True), data_words, problems):
            parts = urlsplit(link)
            if not parts.netloc and parts.path.startswith("/") and not link.startswith("//"):
                queue.append(link)
    return seen


def _data_words(db) -> set[str]:
    """Words of the demo's own data that may be Latin: usernames and email addresses."""
    words = set()
    for username, email in db.session.execute(sa.select(User.username, User.email)):
        words.update(w.lower() for w in re.findall(r"[A-Za-z]+", f"{username} {email or ''}"))
    return words


@pytest.fixture
def demo(app, db):
    accounts = load_demo(reset=True)
    return accounts


def test_every_page_for_every_role_is_chinese_without_escaped_markup(app, db, demo):
    data_words = _data_words(db)
    problems: list[str] = []
    order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
    case = db.session.scalars(sa.select(Case).order_by(Case.id)).first()
    extra = [f"/orders/{order.number}", f"/cases/{case.number}", f"/cases/{case.number}/registry"]
    imports = db.session.scalars(sa.select(RegistryImport.id)).all()
    extra += [f"/registry/imports/{i}" for i in imports]
    roles_seen = set()
    for username, password, _role, _unit in demo:
        browser = Browser(app)
        resp = browser.post("/login", data={"username": username, "password": password})
        assert resp.status_code == 302, username
        user = db.session.scalars(sa.select(User).where(User.username == username)).one()
        roles_seen.add(user.role)
        seen = crawl(browser, [resp.headers["Location"], *FIXED, *extra], data_words, problems)
        assert len(seen) > 10, (username, seen)
        # Forms refused with bad input show their messages: those are pages too.
        bad = [("/registry/lookup", {"birth_date": "2015-13-45", "name": "张三"}),
               ("/account/password", {"current_password": "", "new_password": "x"}),
               ("/admin/audit", {"case_number": case.number, "show": "查询"}),
               ("/admin/audit", {"case_number": case.number, "show": "查询"})]  # now with the first search's row
        for url, data in bad:
            resp = browser.post(url, data=data)
            if resp.status_code < 500 and "text/html" in resp.content_type:
                check_page(f"POST {url}", resp.get_data(as_text=True), data_words, problems)
    assert len(roles_seen) >= 4
    # The citizen: every demo case's tracking page (each state), with the number and access code.
    citizen = Browser(app)
    crawl(citizen, ["/", "/complaints/new", "/track", "/login"], data_words, problems)
    for number in db.session.scalars(sa.select(Case.number)):
        resp = citizen.post("/track", data={"number": number, "code": DEMO_ACCESS_CODE})
        assert resp.status_code == 302, number
        check_page(f"/track/{number}", citizen.page(f"/track/{number}"), data_words, problems)
    resp = citizen.post("/complaints/new", data={"complainant_id_number": "abc"})
    check_page("POST /complaints/new", resp.get_data(as_text=True), data_words, problems)
    assert not problems, "\n".join(problems)


def test_the_checks_see_what_they_should():
    """The two checks fail on what they look for and pass on codes and the allow-list."""
    problems: list[str] = []
    check_page("/x", "<p>Not a valid date value</p>", set(), problems)
    check_page("/y", "<p>&lt;td&gt;1&lt;/td&gt;</p>", set(), problems)
    assert "Latin words ['Not', 'date', 'valid', 'value']" in problems[0]
    assert "escaped markup" in problems[1]
    problems.clear()
    check_page("/m", "<h1>通报（2026-11）</h1>", set(), problems)
    check_page("/d", "<td>2026-11-30</td>", set(), problems)
    assert len(problems) == 2 and all("ISO date" in p for p in problems)
    problems.clear()
    check_page("/h", "<p>日期，如2015-03-08；请按“2026-12-01”的格式填写</p>", set(), problems)
    assert problems == []
    check_page("/z", "<p>XJ2026-000123 HC2026-010001 2026年11月 410102********123X 12 KB PDF <script>var x;</script>"
                     "<span translate='no'>Google <b>Authenticator</b></span></p>"
                     "<a title='查看' href='/a'>li.ming</a>", {"li", "ming"}, problems)
    assert problems == []
