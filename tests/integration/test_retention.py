"""Retention (issue 20, item 6): finished cases are anonymised after RETENTION_YEARS unless held;
figures and the audit trail stay; a complainant can download what caseflow holds about them."""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from caseflow import retention
from caseflow.cases import attachments
from caseflow.chase import stats
from caseflow.models import AuditEntry, Case, CaseEvent, Order
from caseflow.timeutil import local_today
from tests.factories import submit
from tests.web.test_public_track import _open, _work_to_closed

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LATER = date(local_today().year + 4, 1, 15)  # past the default three years


def _closed_case(world, db):
    case, code = submit(db)
    attachments.store(case, PDF, "户口本.pdf")
    db.session.commit()
    _work_to_closed(world, case)
    return case, code


def _figures(world) -> list[dict]:
    month = f"{local_today():%Y-%m}"
    return [r.as_dict() for r in stats.monthly_rows(world.unit("410105"), month)]


def test_a_closed_case_past_retention_is_anonymised_and_its_figures_stay(world, db):
    case, _ = _closed_case(world, db)
    stored = attachments.path_of(case.attachments[0])
    assert stored.exists()
    before = _figures(world)
    assert retention.run(LATER.replace(year=LATER.year - 2)).anonymised == 0  # not yet due
    result = retention.run(LATER)
    assert result.anonymised == 1 and result.files_removed == 1
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.anonymised_at is not None
    for person in (case.complainant, case.student):
        assert person.name == retention.ANONYMOUS
        assert (person.id_number, person.id_number_hash, person.phone, person.phone_hash,
                person.registry_no, person.registry_no_hash) == (None,) * 6
    assert case.description == retention.REMOVED and case.reply == retention.REMOVED
    (order,) = db.session.scalars(sa.select(Order).where(Order.case_id == case.id))
    assert order.content == retention.REMOVED and order.findings == retention.REMOVED
    assert not db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                            CaseEvent.note.is_not(None))).all()
    assert not case.attachments and not stored.exists()
    assert _figures(world) == before  # the month's figures do not move
    assert db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "anonymise",
                                                         AuditEntry.target_ref == case.number)).one()
    assert retention.run(LATER).anonymised == 0  # once


def test_legal_hold_keeps_a_case_whole(world, db):
    case, _ = _closed_case(world, db)
    retention.set_hold(case, True, world.user("supervisor", "410105"), "行政复议中")
    db.session.commit()
    result = retention.run(LATER)
    assert result.anonymised == 0 and result.held == 1
    assert case.complainant.name == "张伟" and case.anonymised_at is None
    retention.set_hold(case, False, world.user("supervisor", "410105"), "复议结束")
    db.session.commit()
    assert retention.run(LATER).anonymised == 1


def test_open_cases_are_never_anonymised(world, db):
    case, _ = submit(db)
    assert retention.run(LATER).anonymised == 0 and case.anonymised_at is None


def test_the_command_refuses_a_future_date_and_counts_on_a_dry_run(world, db, app):
    _closed_case(world, db)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["retention", "run", "--today", LATER.isoformat()])
    assert refused.exit_code != 0 and "future" in refused.output
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0 and json.loads(dry.output)["anonymised"] == 0


def test_the_responsible_supervisor_sets_the_hold_on_the_case_page(world, db, client, login):
    case, _ = _closed_case(world, db)
    login(world.user("officer", "4141000001"))
    assert client.post(f"/cases/{case.number}/hold",
                       data={"hold-hold": "1", "hold-reason": "x", "hold-version": str(case.version_id)}
                       ).status_code in (403, 404)
    client.get("/logout")
    login(world.user("supervisor", "410105"))
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "保存期限" in page and "设置法律保留" in page
    missing = client.post(f"/cases/{case.number}/hold",
                          data={"hold-hold": "1", "hold-reason": "", "hold-version": str(case.version_id)})
    assert missing.status_code == 400 and "请填写理由" in missing.get_data(as_text=True)
    ok = client.post(f"/cases/{case.number}/hold",
                     data={"hold-hold": "1", "hold-reason": "涉及诉讼", "hold-version": str(case.version_id)})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).legal_hold is True
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "法律保留" in page and "涉及诉讼" in page and "解除法律保留" in page


def test_the_complainant_downloads_what_is_held_about_them(world, db, client):
    case, code = _closed_case(world, db)
    assert client.get(f"/track/{case.number}/my-data").status_code == 302  # no grant: the tracking form
    _open(client, case, code)
    assert "下载我的个人信息" in client.get(f"/track/{case.number}").get_data(as_text=True)
    resp = client.get(f"/track/{case.number}/my-data")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.get_data(as_text=True))
    assert data["投诉编号"] == case.number
    assert data["投诉人"]["证件号码"] == case.complainant.id_number and data["投诉人"]["联系电话"] == "13812345678"
    assert data["学生"]["学籍号"] == case.student.registry_no
    assert [a["文件名"] for a in data["附件"]] == ["户口本.pdf"]
    assert "王某某" not in resp.get_data(as_text=True)  # officials' notes are not theirs
    assert db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "data_request",
                                                         AuditEntry.target_ref == case.number)).one()
