"""The access matrix: every endpoint of ``app.url_map``, every role, every unit relation.

Deny by default: an endpoint that is neither on the short public allow-list nor
classified below fails the test, so a new blueprint (the registry, say) must be
placed in the matrix before it can ship.

The scene: a complaint about 金水区第一小学, responsible unit 金水区教育局 (410105),
with a verification order to the school and proofs attached to the case and to
the order. Seen from each role at:
own unit (410105), the child that received the order (4141000001), a child not
concerned (4141000002), a sibling (二七区 410103) and the parent (郑州市 410100).

The rule: a case role (intake, officer, supervisor) whose unit is at or above the
responsible unit or a receiving unit sees the case, its orders, attachments and
PDFs (GET 200; POST anything but 404/5xx); everyone else in those roles gets 404,
never a hint that the case exists; administrators get 403 on case pages.
"""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from werkzeug.routing import IntegerConverter

from caseflow.cases import attachments, operations
from caseflow.models import Case
from caseflow.timeutil import local_today
from tests.conftest import TEST_PASSWORD
from tests.factories import add_user, submit
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser, fresh

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Reachable without logging in. Citizen case pages are further gated by session["track_grants"].
PUBLIC = {
    "static", "auth.login", "public.index", "public.new_complaint", "public.receipt", "public.school_search",
    "public.track", "public.case", "public.rate", "public.my_data", "documents.receipt",
    "public.add_material", "public.withdraw", "public.notice",
    "guidance.directory_page", "guidance.faq_page", "guidance.faq_answer", "guidance.complaint_start",
    "auth.login_totp",  # the log-in's second step: it asks only a session whose password was right a moment ago
    "api.submit_complaint", "api.complaint_status", "api-docs.openapi_json", "api_docs.docs_page",
}
# The JSON API's other endpoints take a token, never the session: anyone without one gets 401 (tests/api).
TOKEN_ONLY = re.compile(r"^api\.")
CITIZEN_CASE = {"public.case", "public.rate", "public.my_data", "documents.receipt", "public.add_material",
                "public.withdraw", "public.notice"}

ROLES = ("intake", "officer", "supervisor", "admin")
CASE_ROLES = ("intake", "officer", "supervisor")
RELATIONS = {"own": "410105", "child": "4141000001", "child_not_concerned": "4141000002",
             "sibling": "410103", "parent": "410100"}
SEES_CASE = {"own", "child", "parent"}  # at or above the responsible unit or a receiving unit
WITHIN_RESPONSIBLE = {"own", "parent"}  # at or above 410105 in the tree

# Endpoints whose URL takes an internal integer id: administrators' and notification pages, and
# registry imports and detected problems (data-monitoring objects, not case references).
INT_ID_ALLOWED = re.compile(r"^/(admin|notifications|registry/imports|registry/problems|faq|api/v1/webhooks)(/|$)")

# Query-scoped pages of supervisors (drill-down): ?unit= must lie in the user's part of the tree.
SCOPED = ("/dashboard?unit={code}", "/reports/monthly?unit={code}", "/reports/monthly?unit={code}&format=xlsx")


def _rules(app):
    return [r for r in app.url_map.iter_rules()]


def _dummy(rule) -> str:
    """A URL for the rule with placeholder values (for anonymous probes)."""
    values = {}
    for arg in rule.arguments:
        conv = rule._converters[arg]
        values[arg] = 1 if isinstance(conv, IntegerConverter) else (
            "a/b.css" if conv.__class__.__name__ == "PathConverter" else "x1")
    with_defaults = {**(rule.defaults or {}), **values}
    return rule.build(with_defaults, append_unknown=False)[1]


def test_public_allow_list_names_real_endpoints(app):
    """The app's allow-list is exactly the one pinned here, and every name on it is a real endpoint."""
    from caseflow.web.auth import PUBLIC_ENDPOINTS

    assert set(PUBLIC_ENDPOINTS) == PUBLIC
    endpoints = {r.endpoint for r in _rules(app)}
    assert endpoints >= PUBLIC


def test_no_view_carries_its_own_login_decorator():
    """Logging in is one before_app_request hook; a per-view decorator would hide a view the hook misses."""
    from pathlib import Path

    import caseflow

    root = Path(caseflow.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if "login_required" in p.read_text()]
    assert not offenders


def test_a_view_nobody_marked_is_closed(app, client):
    """Deny by default: a view added without any decorator still sends anonymous users to log in."""
    app.add_url_rule("/forgotten-page", "forgotten_page", lambda: "secret")
    resp = client.get("/forgotten-page")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")
    assert client.get("/no-such-page").status_code == 404  # unknown URLs still get the 404 page


def test_every_non_public_endpoint_requires_login(client, world):
    checked = 0
    for rule in _rules(app := client.application):
        if rule.endpoint in PUBLIC:
            continue
        url = _dummy(rule)
        for method in sorted({"GET", "POST"} & rule.methods):
            resp = client.open(url, method=method)
            if TOKEN_ONLY.match(rule.endpoint):
                assert resp.status_code == 401 and resp.is_json, (method, url, resp.status_code)
                continue
            assert resp.status_code == 302, (method, url, resp.status_code)
            assert resp.headers["Location"].startswith("/login"), (method, url, resp.headers["Location"])
            checked += 1
    assert checked > 40, app.url_map


def test_citizen_case_pages_need_a_grant(app, db, world):
    """Without the number in session["track_grants"], nobody (not even staff) reads a citizen page."""
    case, _ = submit(db)
    anon = Browser(app)
    staff = Browser(app, world.user("supervisor", "410105"))
    for b in (anon, staff):
        for rule in _rules(app):
            if rule.endpoint not in CITIZEN_CASE:
                continue
            url = rule.build({"number": case.number})[1]
            for method in sorted({"GET", "POST"} & rule.methods):
                resp = b.open(method, url)
                assert resp.status_code in (302, 404), (method, url, resp.status_code)
                assert case.number not in resp.get_data(as_text=True) or resp.status_code == 302
                if resp.status_code == 302:
                    assert resp.headers["Location"].startswith("/track"), resp.headers["Location"]


def test_case_and_order_urls_never_take_integer_ids(app):
    for rule in _rules(app):
        ints = [a for a in rule.arguments if isinstance(rule._converters[a], IntegerConverter)]
        if ints:
            assert INT_ID_ALLOWED.match(rule.rule), f"{rule.rule} exposes an internal integer id"


@pytest.fixture
def scene(app, db, world):
    """The case, its order and two attachments; users of every role at every relation."""
    sup = world.user("supervisor", "410105")
    case, _ = submit(db)
    operations.accept_case(sup, case)
    (order,) = operations.issue_verification(sup, case, [world.unit("4141000001")], "请核实学籍。")
    db.session.commit()
    attachments.store(case, PDF, "情况说明.pdf", user=sup)
    attachments.store(case, PDF, "核查证明.pdf", order=order, user=world.user("officer", "4141000001"))
    db.session.commit()
    # Still argon2id, with the cheapest parameters: 20 log-ins at production cost take seconds.
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(TEST_PASSWORD)
    users = {}
    for relation, code in RELATIONS.items():
        for role in ROLES:
            user = world.users.get((role, code)) or add_user(db, cheap, role, world.unit(code))
            user.password_hash = cheap
            users[(role, relation)] = user
    db.session.commit()
    case, order = fresh(db, case), fresh(db, order)
    atts = {("order" if a.order_id else "case"): a.public_id for a in case.attachments}
    return case, order, atts, users


def _classify(rule) -> str:
    """Which object an endpoint's URL names; unknown shapes fail (deny by default)."""
    args = set(rule.arguments)
    if TOKEN_ONLY.match(rule.endpoint) and rule.endpoint not in PUBLIC:
        return "token"
    if rule.endpoint in PUBLIC or not args:
        return "none"
    if rule.rule.startswith("/admin"):
        return "admin"
    if args == {"number"} and rule.rule.startswith("/cases/") and "/registry" in rule.rule:
        return "case_registry"  # looking the student up for a case: officers and supervisors only
    if args == {"number"} and rule.rule.startswith("/cases/"):
        return "case"
    if args == {"import_id"} and rule.rule.startswith("/registry/imports/"):
        return "admin"  # registry imports are administered, not scoped by unit
    if args == {"problem_id"} and rule.rule.startswith("/registry/problems/"):
        return "problem"
    if args == {"number"} and rule.rule.startswith("/intake/registered/"):
        return "registered"  # a case the user registered: only its registrar, whatever their unit
    if args == {"number"} and rule.rule.startswith("/orders/"):
        return "order"
    if args == {"number"} and rule.rule.startswith("/follow-ups/"):
        return "follow_up"  # a closed case's call: the owing unit only (tests/web/test_follow_up_pages.py)
    if args == {"public_id"} and rule.rule.startswith("/attachments/"):
        return "attachment"
    if args == {"code"} and rule.rule.startswith("/directory/"):
        return "none"  # a unit's complaint channel: its admin/own-supervisor rule is tested in test_guidance
    raise AssertionError(f"classify {rule.endpoint} {rule.rule} in the access matrix")


def _urls(app, case, order, atts):
    """(kind, method, url) for every endpoint that names a case, order, attachment or admin object."""
    out = []
    for rule in _rules(app):
        kind = _classify(rule)
        if kind == "none":
            continue
        if kind == "problem":
            urls = [(kind, rule.build({"problem_id": 999999})[1])]  # no such problem: never a 500
        elif kind == "admin" or (kind == "token" and "number" not in rule.arguments):
            values = {a: ("410105" if a == "code" else 1) for a in rule.arguments}
            values = {a: ("2026-01-01" if a == "day" else v) for a, v in values.items()}
            urls = [(kind, rule.build(values)[1])]
        elif kind == "attachment":
            urls = [(kind + ":" + k, rule.build({"public_id": v})[1]) for k, v in atts.items()]
        else:
            number = order.number if kind == "order" else case.number
            urls = [(kind, rule.build({"number": number})[1])]
        for k, url in urls:
            for method in sorted({"GET", "POST"} & rule.methods):
                out.append((k, method, url))
    return out


def _expect(role: str, relation: str, kind: str, method: str, status: int) -> bool:
    if kind == "token":  # a logged-in session opens no API endpoint: only a token does
        return status == 401
    if kind == "admin":
        return status != 403 and status < 500 if role == "admin" else status == 403
    if kind == "follow_up":  # the scene's case is not closed: no call is owed on it, to anyone
        return status in (403, 404)
    if kind == "problem":
        return status == 404 if role == "supervisor" else status == 403
    if kind == "registered":  # nobody in the matrix registered the scene's case (a citizen submitted it)
        return status == 403 if role == "admin" else status == 404
    if kind == "case_registry" and role == "intake":
        return status == 403
    if role == "admin":
        return status == 403
    if relation not in SEES_CASE:
        return status == 404
    if method == "GET":
        return status == 200
    return status not in (404,) and status < 500


def _probe_objects(b, role, relation, probes, case, order, failures):
    """Case, order, attachment and admin URLs: 200/403/404 as the rule says, and 404 pages say nothing."""
    for kind, method, url in probes:
        resp = b.open(method, url)
        if not _expect(role, relation, kind, method, resp.status_code):
            failures.append((role, relation, method, url, resp.status_code))
        if resp.status_code == 404:
            body = resp.get_data(as_text=True)
            if case.number in body or order.number in body:
                failures.append((role, relation, method, url, "404 page names the case"))


def _probe_lists(b, role, relation, pages, case, order, failures):
    """Pages without URL arguments (lists, inboxes, dashboard, notifications) never list others' cases."""
    for url in pages:
        resp = b.get(url)
        if resp.status_code not in (200, 302, 403):
            failures.append((role, relation, url, resp.status_code))
        body = _text_of(resp)
        if (relation not in SEES_CASE or role == "admin") and (case.number in body or order.number in body):
            failures.append((role, relation, url, "lists the case"))


def _text_of(resp) -> str:
    """A page's text, or every cell of a spreadsheet download (the list exports)."""
    if resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet"):
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(resp.get_data()), read_only=True)
        return " ".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                        for v in row if v is not None)
    return resp.get_data(as_text=True)


def _probe_scoped(b, role, relation, batch, failures):
    """Dashboard drill-down, monthly reports and batch prints of 410105: only at or above it."""
    for pattern in SCOPED:
        status = b.get(pattern.format(code="410105")).status_code
        want = (200 if relation in WITHIN_RESPONSIBLE else 404) if role == "supervisor" else 403
        if status != want:
            failures.append((role, relation, pattern, status, want))
    resp = b.post("/documents/batch", data=batch)
    if role == "admin":
        ok = resp.status_code == 403
    elif relation in WITHIN_RESPONSIBLE:
        ok = resp.status_code == 200 and resp.mimetype == "application/pdf"
    else:
        ok = (resp.status_code == 400 and resp.mimetype == "text/html"
              and "不在您的管辖范围内" in resp.get_data(as_text=True))
    if not ok:
        failures.append((role, relation, "/documents/batch", resp.status_code))


def test_access_matrix(app, db, scene):
    """Every role at every relation against every object URL, list page and scoped page."""
    case, order, atts, users = scene
    probes = _urls(app, case, order, atts)
    assert {"case", "order", "attachment:case", "attachment:order", "admin"} <= {k for k, _m, _u in probes}
    pages = [r.rule for r in _rules(app) if not r.arguments and "GET" in r.methods and r.endpoint not in PUBLIC
             and not TOKEN_ONLY.match(r.endpoint)]
    pages += ["/cases?mine=1", f"/cases?number={case.number[:-1]}", "/inbox?overdue=1"]
    today = local_today()
    batch = {"unit": "410105", "date_from": (today - timedelta(days=3)).isoformat(),
             "date_to": (today + timedelta(days=1)).isoformat()}
    failures: list = []
    for (role, relation), user in users.items():
        b = Browser(app, user)
        _probe_objects(b, role, relation, probes, case, order, failures)
        _probe_lists(b, role, relation, pages, case, order, failures)
        _probe_scoped(b, role, relation, batch, failures)
    assert not failures, "\n".join(map(str, failures))
    # The lists do show the case to those who see it: the checks above are not vacuous.
    assert case.number in Browser(app, users[("intake", "parent")]).page("/cases")
    assert order.number in Browser(app, users[("officer", "child")]).page("/inbox")


def test_unknown_objects_are_404_not_500(app, world):
    b = Browser(app, world.user("supervisor", "410000"))
    for url in ("/cases/X-NOPE", "/orders/NOPE", f"/attachments/{uuid.uuid4()}", "/orders/NOPE/pdf",
                "/attachments/..%2F..%2Fetc%2Fpasswd"):
        assert b.get(url).status_code == 404, url
    for url in ("/cases/%00", "/cases?number=%00", "/track?number=%00"):  # PostgreSQL refuses NUL: 400, not 500
        assert b.get(url).status_code == 400, url
    assert b.post("/notifications/read", data={"next": "x\x00"}).status_code == 400


def test_next_parameters_never_leave_the_site(client, world, login):
    user = world.user("officer", "410105")
    for evil in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/", "/\t/evil.example/x"):
        resp = client.post(f"/login?next={evil}", data={"username": user.username, "password": TEST_PASSWORD})
        assert resp.headers["Location"] in ("/staff", "/inbox"), evil
        resp = client.post("/notifications/read", data={"next": evil})
        assert resp.headers["Location"] == "/notifications", evil
        client.post("/logout")


def test_attachment_public_ids_are_random_uuids(app, db, scene):
    case, *_ = scene
    for att in case.attachments:
        assert uuid.UUID(att.public_id).version == 4
        assert str(att.id) not in att.public_id.split("-")



def test_a_grant_opens_only_its_own_case(app, db, world):
    """Submitting case A grants A; B's tracking page, rating and receipt stay closed."""
    other, _ = submit(db)
    citizen = Browser(app)
    assert citizen.post("/complaints/new", data=valid_form(token="tok-grant-000001")).status_code == 302
    mine = db.session.scalars(sa.select(Case).order_by(Case.id.desc())).first()
    assert mine.number != other.number
    assert citizen.get(f"/track/{mine.number}").status_code == 200
    assert citizen.get(f"/track/{mine.number}/receipt.pdf").status_code == 200
    for method, url in (("GET", f"/track/{other.number}"), ("GET", f"/track/{other.number}/receipt.pdf"),
                        ("POST", f"/track/{other.number}/rate")):
        resp = citizen.open(method, url)
        assert resp.status_code in (302, 404), url
        if resp.status_code == 302:  # to the code form for that number, which says nothing about the case
            assert resp.headers["Location"] == f"/track?number={other.number}"
        else:
            assert other.number not in resp.get_data(as_text=True)


def test_notifications_are_per_user_even_by_integer_id(app, db, world):
    """Notification ids are integers in forms; another user's id neither shows nor changes anything."""
    from caseflow.models import Notification

    owner, other = world.user("supervisor", "410105"), world.user("supervisor", "410103")
    note = Notification(user_id=owner.id, kind="remind", title="催办：XJ2026-009999", body="请尽快办理。")
    db.session.add(note)
    db.session.commit()
    b = Browser(app, other)
    assert "XJ2026-009999" not in b.page("/notifications")
    assert b.post("/notifications/read", data={"id": note.id}).status_code == 302
    assert fresh(db, note).read_at is None
    assert "XJ2026-009999" in Browser(app, owner).page("/notifications")
