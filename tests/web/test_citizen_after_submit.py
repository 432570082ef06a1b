"""The complainant after submitting: added material (补充材料), withdrawal (撤诉), and SMS or none."""
from __future__ import annotations

import re
from datetime import date
from io import BytesIO

import time_machine
from markupsafe import escape

from caseflow.cases import operations as ops
from caseflow.chase.stats import dashboard, monthly_rows
from caseflow.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseState,
    NoticePreference,
    Notification,
    OrderState,
    OutboxItem,
    SmsMessage,
    Verdict,
)
from tests.factories import submit
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TEXT = "学校今天又通知我们补交户口本复印件，联系电话13912345678。"


def _errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<div class="err" id="{field}-err">([^<]*)</div>', html)


def _open(client, case, code):
    resp = client.post("/track", data={"number": case.number, "code": code})
    assert resp.status_code == 302


def _verifying(world, db, case):
    """Accept the case and send a verification order to the school: the school works it now."""
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    [order] = ops.issue_verification(sup, case, [world.unit("4141000001")], "核实学籍注册情况")
    db.session.commit()
    return order


def _notified(db, case, kind="complainant"):
    rows = db.session.execute(db.select(Notification.user_id, Notification.link).where(
        Notification.case_id == case.id, Notification.kind == kind)).all()
    return {(uid, link) for uid, link in rows}


def _sms_count(db, case) -> int:
    return db.session.scalar(db.select(db.func.count(SmsMessage.id)).where(SmsMessage.case_id == case.id))


# --- added material ----------------------------------------------------------------------------------

def test_added_material_is_an_event_the_handling_units_are_told_of(client, app, world, db):
    case, code = submit(db)
    order = _verifying(world, db, case)
    _open(client, case, code)
    resp = client.post(f"/track/{case.number}/material", content_type="multipart/form-data",
                       data={"text": TEXT, "attachments": [(BytesIO(PDF), "户口本.pdf")]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"] == f"/track/{case.number}"
    event = db.session.scalars(db.select(CaseEvent).where(CaseEvent.action == "complainant_material")).one()
    assert event.public and event.actor_id is None and TEXT in event.note and "户口本.pdf" in event.note
    assert db.session.scalars(db.select(Attachment.original_name).where(
        Attachment.case_id == case.id, Attachment.uploaded_by_id.is_(None))).all() == ["户口本.pdf"]
    # The responsible bureau's officials (its case page) and the school working the order (its order page).
    expected = {(world.user(role, "410105").id, f"/cases/{case.number}") for role in ("supervisor", "officer")}
    expected.add((world.user("officer", "4141000001").id, f"/orders/{order.number}"))
    assert _notified(db, case) == expected
    bodies = db.session.scalars(db.select(Notification.body).where(Notification.case_id == case.id)).all()
    assert set(bodies) == {"通过查询页面补充了材料（说明34字、附件1个），请在投诉页面查看。"}
    # The citizen's timeline says so; staff read the material masked, on the case page and the order page.
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    assert "您补充了材料，已通知承办单位" in html
    for user, url in ((world.user("supervisor", "410105"), f"/cases/{case.number}"),
                      (world.user("officer", "4141000001"), f"/orders/{order.number}")):
        page = Browser(app, user).page(url)
        assert "投诉人补充材料" in page and "学校今天又通知我们补交户口本复印件" in page
        assert "13912345678" not in page and "139****5678" in page


def test_material_is_refused_as_the_form_refuses_and_the_text_is_kept(client, app, world, db):
    case, code = submit(db)
    _open(client, case, code)
    app.config["MAX_ATTACHMENT_BYTES"] = 1024 * 1024
    cases = [
        ([(BytesIO(PDF + b"0" * (1024 * 1024)), "大文件.pdf")], "附件“大文件.pdf”超过1MB"),
        ([(BytesIO(b"just text, not a picture"), "说明.pdf")], "附件“说明.pdf”不是PDF、JPG或PNG文件"),
        ([(BytesIO(PDF), f"{i}.pdf") for i in range(6)], "附件最多5个"),
    ]
    for files, message in cases:
        resp = client.post(f"/track/{case.number}/material", content_type="multipart/form-data",
                           data={"text": TEXT, "attachments": files})
        resp.request.environ["wsgi.input"].close()  # the test client spools a big body to a file it leaves open
        assert resp.status_code == 400
        html = resp.get_data(as_text=True)
        assert message in _errors(html, "attachments")[0]
        assert str(escape(TEXT)) in html  # what was typed is back in the box
    resp = client.post(f"/track/{case.number}/material", data={"text": "  "})
    assert _errors(resp.get_data(as_text=True), "text") == ["请填写补充说明或选择要上传的附件"]
    assert db.session.scalar(db.select(db.func.count(CaseEvent.id)).where(
        CaseEvent.action == "complainant_material")) == 0
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


def test_material_needs_the_grant_and_an_unfinished_case(client, world, db):
    case, code = submit(db)
    resp = client.post(f"/track/{case.number}/material", data={"text": TEXT})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/track?number=")
    _open(client, case, code)
    ops.reject_case(world.user("supervisor", "410105"), case, "不属于学籍问题，请向公安机关咨询。")
    db.session.commit()
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    assert "提交补充材料" not in html and "撤回投诉" not in html
    resp = client.post(f"/track/{case.number}/material", data={"text": TEXT}, follow_redirects=True)
    assert "该投诉不予受理，不能再补充材料。" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CaseEvent.id)).where(
        CaseEvent.action == "complainant_material")) == 0


# --- withdrawal ---------------------------------------------------------------------------------------

def test_withdrawal_asks_a_reason_and_a_confirmation_then_ends_the_case(client, world, db):
    case, code = submit(db)
    order = _verifying(world, db, case)
    _open(client, case, code)
    resp = client.post(f"/track/{case.number}/withdraw", data={"reason": ""})
    assert resp.status_code == 400 and _errors(resp.get_data(as_text=True), "reason") == ["请填写撤诉的理由"]
    html = client.post(f"/track/{case.number}/withdraw", data={"reason": "学校已补办注册。"}).get_data(as_text=True)
    assert "确认撤回投诉" in html and "学校已补办注册。" in html and 'name="confirm" value="1"' in html
    db.session.expire_all()
    assert db.session.get(Case, case.id).state is CaseState.VERIFYING  # nothing happens before the confirmation
    resp = client.post(f"/track/{case.number}/withdraw", data={"reason": "学校已补办注册。", "confirm": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    case, order = db.session.get(Case, case.id), db.session.get(type(order), order.id)
    assert case.state is CaseState.WITHDRAWN and case.state in CaseState.FINISHED
    assert case.withdrawal_reason == "学校已补办注册。" and case.withdrawn_at is not None and case.closed_at is None
    assert order.state is OrderState.CANCELLED
    assert {link for _uid, link in _notified(db, case)} == {f"/cases/{case.number}", f"/orders/{order.number}"}
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    assert "已撤诉" in html and "您已撤回投诉，办理结束" in html and "学校已补办注册。" in html
    assert "提交补充材料" not in html and "撤回投诉</button>" not in html
    # Once withdrawn, a second withdrawal is refused with the reason, not a server error.
    resp = client.post(f"/track/{case.number}/withdraw", data={"reason": "再撤一次", "confirm": "1"},
                       follow_redirects=True)
    assert "不能执行“投诉人撤诉”" in resp.get_data(as_text=True)


def _at(when):
    return time_machine.travel(f"{when} +0800", tick=False)


def test_a_withdrawn_case_is_never_counted_as_resolved(world, db):
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    with _at("2026-10-12 09:00"):
        closed, _ = submit(db)
        withdrawn, _ = submit(db)
        for case in (closed, withdrawn):
            ops.accept_case(sup, case)
        [order] = ops.issue_verification(sup, closed, [world.unit("4141000001")])
        db.session.commit()
    with _at("2026-10-13 10:00"):
        ops.sign_order(officer, order)
        ops.report_order(officer, order, text="经核实情况属实。", verdict=Verdict.TRUE)
        ops.accept_report(sup, order)
        ops.close_case(sup, closed, "已处理。")
        from caseflow.cases import citizen_actions

        citizen_actions.withdraw(withdrawn, "问题已经解决。")
        db.session.commit()
    rows = {r.code: r for r in monthly_rows(world.unit("410100"), "2026-10")}
    assert (rows["410105"].received, rows["410105"].closed, rows["410105"].withdrawn) == (2, 1, 1)
    assert rows["410105"].as_dict()["withdrawn"] == 1
    with _at("2026-10-30 09:00"):
        d = dashboard(world.unit("410100"), since=date(2026, 10, 1))
    assert d.state_counts[CaseState.CLOSED] == 1 and d.state_counts[CaseState.WITHDRAWN] == 1
    assert (d.trend[-1]["closed"], d.trend[-1]["withdrawn"]) == (1, 1)
    assert d.stage_days["close"] is not None  # from the one closing only


def test_dashboard_and_report_pages_show_withdrawals_apart(app, world, db):
    case, _ = submit(db)
    from caseflow.cases import citizen_actions

    citizen_actions.withdraw(case, "问题已经解决。")
    db.session.commit()
    html = Browser(app, world.user("supervisor", "410100")).page("/dashboard")
    assert "已撤诉" in html and "<th scope=\"col\">撤诉</th>" in html


# --- SMS or none -------------------------------------------------------------------------------------

def test_no_texts_when_the_complainant_chose_none(client, world, db):
    resp = client.post("/complaints/new", data=valid_form(notice="none"))
    assert resp.status_code == 302
    case = db.session.scalars(db.select(Case)).one()
    assert case.notice is NoticePreference.NONE
    assert "不接收短信（可在查询页面更改）" in client.get("/complaints/receipt").get_data(as_text=True)
    sup = world.user("supervisor", "410105")
    ops.reject_case(sup, case, "不属于学籍问题，请向公安机关咨询。")
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(OutboxItem.id)).where(OutboxItem.kind == "sms")) == 0
    assert _sms_count(db, case) == 0


def test_not_choosing_means_texts_to_a_mobile(client, world, db):
    assert client.post("/complaints/new", data=valid_form()).status_code == 302
    case = db.session.scalars(db.select(Case)).one()
    assert case.notice is NoticePreference.SMS and _sms_count(db, case) == 1


def test_texts_to_a_landline_are_refused_on_the_form_with_everything_kept(client, world, db):
    data = valid_form(notice="sms", complainant_phone="0371-65900000")
    html = client.post("/complaints/new", data=data).get_data(as_text=True)
    assert _errors(html, "notice") == ["短信只能发送到手机。请填写手机号码，或选择“不接收短信”"]
    assert 'value="0371-65900000"' in html
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 0


def test_the_choice_is_changed_on_the_tracking_page_and_respected(client, world, db):
    case, code = submit(db)
    assert _sms_count(db, case) == 1  # the receipt text
    _open(client, case, code)
    assert client.post(f"/track/{case.number}/notice", data={"notice": "none"}).status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.notice is NoticePreference.NONE
    assert "当前设置：不接收短信" in client.get(f"/track/{case.number}").get_data(as_text=True)
    ops.reject_case(world.user("supervisor", "410105"), case, "不属于学籍问题，请向公安机关咨询。")
    db.session.commit()
    assert _sms_count(db, case) == 1  # no text for the rejection
    resp = client.post(f"/track/{case.number}/notice", data={"notice": "bogus"})
    assert resp.status_code == 400
    assert _errors(resp.get_data(as_text=True), "notice") == ["请选择是否接收短信通知"]


def test_a_text_queued_before_the_complainant_opted_out_is_not_sent(world, db):
    from caseflow.cases import citizen_actions
    from caseflow.cases.sms import deliver_sms
    from caseflow.jobs import add_outbox

    case, _ = submit(db)
    add_outbox("sms", case_id=case.id, template="closed")
    citizen_actions.choose_notice(case, NoticePreference.NONE)
    item = db.session.scalars(db.select(OutboxItem).order_by(OutboxItem.id.desc())).first()
    deliver_sms(item)
    assert _sms_count(db, case) == 1  # only the receipt text sent at submission


def test_the_complainants_posts_are_rate_limited_like_submissions(world, db, database_url):
    from caseflow import create_app
    from caseflow.extensions import db as ext_db
    from tests.conftest import IsolatedClient

    case, code = submit(db)
    limited = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": database_url,
                          "RATELIMIT_ENABLED": True, "RATE_LIMIT_SUBMIT": "2 per minute"})
    limited.test_client_class = IsolatedClient
    try:
        client = limited.test_client()
        _open(client, case, code)
        answers = [client.post(f"/track/{case.number}/material", data={"text": f"第{i}次补充的说明。"}) for i in range(3)]
        assert [r.status_code for r in answers] == [302, 302, 429]
        assert "尝试次数过多" in answers[2].get_data(as_text=True)
        assert client.get(f"/track/{case.number}").status_code == 200  # reading the page is not limited by it
    finally:
        with limited.app_context():
            ext_db.engine.dispose()
    assert db.session.scalar(db.select(db.func.count(CaseEvent.id)).where(
        CaseEvent.action == "complainant_material")) == 2
