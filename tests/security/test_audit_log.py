"""The audit log cannot be changed, and an administrator can export who looked at a student."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from caseflow.cases import operations
from caseflow.models import AuditEntry
from caseflow.security import crypto
from caseflow.security.audit import record_access
from tests.factories import submit
from tests.web.staff_support import Browser


@pytest.mark.postgres
def test_audit_log_refuses_update_delete_and_truncate(app, db, world):
    record_access(world.user("supervisor", "410105"), "reveal", "case", "XJ2026-000001", subject_id_number=None)
    db.session.commit()
    for statement in (sa.update(AuditEntry).values(detail="changed"), sa.delete(AuditEntry),
                      sa.text("TRUNCATE audit_log")):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(statement)
        db.session.rollback()
    assert db.session.scalars(sa.select(AuditEntry.detail)).all() == [None]
    # Appending still works.
    record_access(None, "print", "order", "HC2026-000001")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 2


def test_audit_log_is_append_only_on_sqlite_too(tmp_path):
    """The embedded default refuses changes to the audit log like PostgreSQL does (a migration's trigger)."""
    from flask_migrate import upgrade

    from caseflow import create_app
    from caseflow.extensions import db as sqlite_db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/audit.db"})
    with app.app_context():
        upgrade()
        record_access(None, "print", "order", "HC2026-000001")
        sqlite_db.session.commit()
        for statement in (sa.update(AuditEntry).values(detail="changed"), sa.delete(AuditEntry)):
            with pytest.raises(DBAPIError, match="append-only"):
                sqlite_db.session.execute(statement)
            sqlite_db.session.rollback()
        assert sqlite_db.session.scalars(sa.select(AuditEntry.action)).all() == ["print"]
        sqlite_db.session.remove()
        sqlite_db.engine.dispose()


def _looked_at(app, db, world):
    """A case whose student's data the county revealed and printed."""
    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    operations.reveal(sup, case, "student", "id_number")
    operations.reveal(sup, case, "complainant", "phone")
    db.session.commit()
    return case, sup


def test_admin_finds_who_looked_by_id_number_and_exports_csv(app, db, world):
    case, sup = _looked_at(app, db, world)
    admin = Browser(app, world.user("admin", "410000"))
    assert "审计日志" in admin.page("/admin/audit")
    typed = case.student.id_number.lower().replace("1", "１")  # lower-case x, a full-width digit
    resp = admin.post("/admin/audit", data={"id_number": typed, "show": "查询"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and page.count(sup.username) == 2 and "查看完整信息" in page
    assert "student.id_number" in page and "complainant.phone" in page

    resp = admin.post("/admin/audit", data={"id_number": case.student.id_number, "export": "导出CSV"})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    # The earlier search is itself a look at the student's data, so it is listed too.
    assert rows[0][:2] == ["时间", "用户名"]
    assert [r[1] for r in rows[1:]] == [sup.username, sup.username, "admin-410000"]
    assert case.student.id_number not in resp.get_data(as_text=True)

    # The search and the export are audited, against the same student.
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.subject_hash == crypto.lookup_hash(case.student.id_number)).order_by(AuditEntry.id)).all()
    assert actions == ["reveal", "reveal", "audit_search", "audit_export"]


def test_admin_search_by_case_number_includes_order_prints(app, db, world):
    case, sup = _looked_at(app, db, world)
    operations.accept_case(sup, case)
    (order,) = operations.issue_verification(sup, case, [world.unit("4141000001")], "核实。")
    record_access(world.user("officer", "4141000001"), "print", "order", order.number, detail="unmasked")
    db.session.commit()
    admin = Browser(app, world.user("admin", "410000"))
    page = admin.post("/admin/audit", data={"case_number": case.number.lower(), "show": "查询"}).get_data(
        as_text=True)
    assert "officer-4141000001" in page and order.number in page and page.count(sup.username) == 2


def test_audit_page_refuses_bad_input_and_non_admins(app, db, world):
    admin = Browser(app, world.user("admin", "410000"))
    resp = admin.post("/admin/audit", data={"id_number": "41010520150308123", "show": "查询"})
    assert resp.status_code == 400 and "身份证号应为18位" in resp.get_data(as_text=True)
    assert 'value="41010520150308123"' in resp.get_data(as_text=True)  # what was typed stays
    resp = admin.post("/admin/audit", data={"show": "查询"})
    assert resp.status_code == 400 and "请填写身份证号或投诉编号" in resp.get_data(as_text=True)
    for role, code in (("supervisor", "410000"), ("intake", "410105")):
        b = Browser(app, world.user(role, code))
        assert b.get("/admin/audit").status_code == 403
        assert b.post("/admin/audit", data={"case_number": "XJ2026-000001"}).status_code == 403


def test_audit_rows_keep_the_client_address_of_a_web_request_only(app, db, world):
    """The web layer tells the audit log the client's address; work outside a request records none."""
    case, _ = _looked_at(app, db, world)
    admin = Browser(app, world.user("admin", "410000"))
    admin.post("/admin/audit", data={"case_number": case.number, "show": "查询"})
    rows = db.session.execute(sa.select(AuditEntry.action, AuditEntry.ip).order_by(AuditEntry.id)).all()
    assert [tuple(r) for r in rows] == [("reveal", None), ("reveal", None), ("audit_search", "127.0.0.1")]
