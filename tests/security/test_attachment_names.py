"""Issue 20 item 25: an attachment is kept and served under the extension of its detected type."""
from __future__ import annotations

import io

import pytest

from caseflow.cases import attachments
from caseflow.cases.attachments import name_for
from tests.factories import submit
from tests.web.staff_support import Browser

EVIL = b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF\n"


@pytest.mark.parametrize(("typed", "mime", "kept"), [
    ("evil.html", "application/pdf", "evil.pdf"),
    ("证明.PDF", "application/pdf", "证明.PDF"),
    ("photo.jpeg", "image/jpeg", "photo.jpeg"),
    ("scan.svg", "image/png", "scan.png"),
    ("noext", "image/jpeg", "noext.jpg"),
    (".htaccess", "application/pdf", ".htaccess.pdf"),
])
def test_name_takes_the_detected_type(typed, mime, kept):
    assert name_for(typed, mime) == kept


def test_a_pdf_uploaded_as_html_downloads_as_pdf(app, db, world):
    sup = world.user("supervisor", "410105")
    case, _ = submit(db)
    b = Browser(app, sup)
    resp = b.post(f"/cases/{case.number}/attachments",
                  data={"attach-file": (io.BytesIO(EVIL), "evil.html")}, content_type="multipart/form-data")
    assert resp.status_code in (200, 302), resp.status_code
    db.session.expire_all()
    (att,) = case.attachments
    assert att.original_name == "evil.pdf" and att.stored_name.endswith(".pdf")
    page = b.page(f"/cases/{case.number}")
    assert "evil.pdf" in page and "evil.html" not in page
    download = b.get(f"/attachments/{att.public_id}")
    disposition = download.headers["Content-Disposition"]
    assert download.mimetype == "application/pdf" and "evil.pdf" in disposition and ".html" not in disposition


def test_an_old_row_with_the_typed_extension_is_served_under_the_detected_one(app, db, world):
    sup = world.user("supervisor", "410105")
    case, _ = submit(db)
    att = attachments.store(case, EVIL, "evil.pdf", user=sup)
    att.original_name = "evil.html"  # as stored before the fix
    db.session.commit()
    disposition = Browser(app, sup).get(f"/attachments/{att.public_id}").headers["Content-Disposition"]
    assert "evil.pdf" in disposition and ".html" not in disposition
