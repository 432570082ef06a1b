"""Item 5 of issue 20: the citizen's session cookie carries only an opaque id; the data stays server-side."""
from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import timedelta

from caseflow.extensions import db as _db
from caseflow.models import Case, CitizenSession
from caseflow.security import citizen_sessions
from caseflow.timeutil import utcnow
from tests.factories import submit
from tests.web.formdata import COMPLAINANT_ID, STUDENT_ID, valid_form


def _cookie_payload(client) -> str:
    """The session cookie's payload as anyone holding the cookie can read it (itsdangerous: base64, maybe zlib)."""
    value = client.get_cookie("session").value
    compressed = value.startswith(".")
    body = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode()


def _assert_opaque(payload: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in payload, secret
    assert set(json.loads(payload)) <= {"citizen", "csrf_token", "_flashes"}


def test_cookie_after_submission_holds_no_code_names_or_numbers(client, world, db):
    client.post("/complaints/new", data=valid_form())
    html = client.get("/complaints/receipt").get_data(as_text=True)
    code = re.search(r'class="code-big access-code">([A-Z0-9-]+)<', html).group(1)
    case = db.session.scalars(db.select(Case)).one()
    payload = _cookie_payload(client)
    _assert_opaque(payload, code, code.replace("-", ""), case.number, "张伟", "张小红",
                   "\\u5f20\\u4f1f", "138****5678", "5678", COMPLAINANT_ID[:6], STUDENT_ID[-4:], "track_grants")
    # The browser still sees its receipt and its case.
    assert client.get("/complaints/receipt").get_data(as_text=True) == html
    assert client.get(f"/track/{case.number}").status_code == 200
    # The stored data is sealed too.
    stored = db.session.scalars(db.select(CitizenSession.data)).one()
    assert code not in str(db.session.execute(db.text("SELECT data FROM citizen_sessions")).scalar())
    assert code in stored


def test_cookie_after_tracking_login_holds_no_number(client, world, db):
    case, code = submit(db)
    resp = client.post("/track", data={"number": case.number, "code": code})
    assert resp.headers["Location"] == f"/track/{case.number}"
    assert client.get(f"/track/{case.number}").status_code == 200
    _assert_opaque(_cookie_payload(client), code, case.number, "track_grants")
    # A copied cookie id is the only key: another browser without it has no grant.
    other = client.application.test_client()
    assert other.get(f"/track/{case.number}").status_code == 302


def test_expired_sessions_grant_nothing_and_are_swept(app, world, db):
    lifetime = timedelta(minutes=5)
    token = citizen_sessions.save(None, {"track_grants": ["XJ2026-000001"]}, lifetime)
    _db.session.commit()
    assert citizen_sessions.load(token) == {"track_grants": ["XJ2026-000001"]}
    later = utcnow() + timedelta(minutes=6)
    assert citizen_sessions.load(token, now=later) == {}
    assert citizen_sessions.sweep(now=later) == 1
    assert citizen_sessions.load(token) == {}
