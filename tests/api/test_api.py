"""The JSON API: a complaint's whole path through it, tokens, errors as Chinese JSON, and webhooks."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from caseflow.cases import api_tokens as tokens
from caseflow.cases import operations as ops
from caseflow.models import (
    ApiToken,
    AuditEntry,
    Case,
    CaseState,
    OrderState,
    OutboxItem,
    User,
    WebhookDelivery,
)
from caseflow.timeutil import utcnow
from tests.api.conftest import body_of
from tests.factories import complaint_data, submit
from tests.web.formdata import valid_form


def _complaint(**overrides) -> dict:
    data = valid_form()
    data.pop("token")  # the form's own; the API's is optional
    return {**data, **overrides}


def _the_order(client, headers) -> dict:
    resp = client.get("/api/v1/orders", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    listed = body_of(resp)
    assert listed["total"] == 1 and listed["page"] == 1
    return listed["items"][0]


def test_a_complaint_through_the_api_alone(client, db, world, api_token):
    # submit (public): number and access code
    resp = client.post("/api/v1/complaints", json=_complaint())
    assert resp.status_code == 201, resp.get_data(as_text=True)
    created = body_of(resp)
    number, code = created["number"], created["access_code"]
    assert created["state"] == "submitted" and created["responsible_unit"] == "金水区教育局"

    county_sup = world.user("supervisor", "410105")
    case = db.session.scalars(sa.select(Case).where(Case.number == number)).one()
    ops.accept_case(county_sup, case)
    ops.issue_verification(county_sup, case, [world.unit("4141000001")], "核实该生是否已注册学籍")
    db.session.commit()

    # the school's integration: list, read, sign, report
    _, _, headers = api_token("4141000001")
    order = _the_order(client, headers)
    assert order["case_number"] == number and order["state"] == "sent" and "sign" in order["actions"]
    resp = client.get(f"/api/v1/orders/{order['number']}", headers=headers)
    assert resp.status_code == 200 and body_of(resp)["kind"] == "verification"
    resp = client.post(f"/api/v1/orders/{order['number']}/sign", json={"acting_person": "李老师"}, headers=headers)
    assert resp.status_code == 200 and body_of(resp)["state"] == "signed", resp.get_data(as_text=True)
    resp = client.post(f"/api/v1/orders/{order['number']}/report", json={"text": "经核实，该生确未注册学籍。"},
                       headers=headers)
    assert resp.status_code == 422 and body_of(resp)["errors"] == {"verdict": "请选择核查结论"}
    resp = client.post(f"/api/v1/orders/{order['number']}/report",
                       json={"text": "经核实，该生确未注册学籍。", "verdict": "true"}, headers=headers)
    assert resp.status_code == 200 and body_of(resp)["state"] == "reported", resp.get_data(as_text=True)
    resp = client.post(f"/api/v1/orders/{order['number']}/sign", json={}, headers=headers)
    assert resp.status_code == 409 and "message" in body_of(resp)  # signed already: a conflict, in Chinese

    # the bureau decides; the school reports the result through the API again; the bureau closes
    db.session.expire_all()
    (verification,) = case.orders
    ops.accept_report(county_sup, verification)
    supervision = ops.issue_supervision(county_sup, case, world.unit("4141000001"), "责成学校三日内办理学籍注册")
    db.session.commit()
    order = _the_order(client, headers)
    assert order["number"] == supervision.number and order["kind"] == "supervision"
    assert client.post(f"/api/v1/orders/{order['number']}/sign", json={}, headers=headers).status_code == 200
    resp = client.post(f"/api/v1/orders/{order['number']}/report", json={"text": "已为该生办理学籍注册。"},
                       headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.session.expire_all()
    ops.accept_report(county_sup, supervision)
    ops.close_case(county_sup, case, "经核实，学校已为您的孩子办理学籍注册。")
    db.session.commit()
    assert body_of(client.get("/api/v1/orders", headers=headers))["total"] == 0

    # status read (public), with the access code in a header
    resp = client.get(f"/api/v1/complaints/{number}", headers={"X-Access-Code": code})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    status = body_of(resp)
    assert status["state"] == CaseState.CLOSED.value and status["state_label"] == CaseState.CLOSED.label
    assert status["next_deadline"] is None
    assert status["timeline"][0]["text"] and len(status["timeline"]) >= 3
    resp = client.get(f"/api/v1/complaints/{number}", headers={"X-Access-Code": "WRONG-CODE"})
    assert resp.status_code == 404 and body_of(resp)["message"] == "投诉编号或查询码不正确，请核对后重新输入。"

    # every token call was audited, as the token's service account
    service = db.session.scalars(sa.select(ApiToken)).one().user
    calls = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "api_call",
                                                           AuditEntry.user_id == service.id)).all()
    assert len(calls) >= 8 and any("/sign" in c.detail for c in calls)


def test_submission_problems_are_the_forms_per_field(client, db, world):
    resp = client.post("/api/v1/complaints", json=_complaint(complainant_age="200", school1="", description="短"))
    assert resp.status_code == 422
    errors = body_of(resp)["errors"]
    assert errors["complainant_age"] == "投诉人年龄应在16至100岁之间"
    assert errors["school1"] == "请填写投诉涉及的学校（学校名称或10位学校标识码）"
    assert errors["description"] == "请具体说明投诉的问题，至少10个字"
    resp = client.post("/api/v1/complaints", json={"complainant_age": 38, "description": "\x00" * 12})
    assert resp.status_code == 422
    assert body_of(resp)["errors"]["complainant_age"] == "该项应为文字"
    assert body_of(resp)["errors"]["description"] == "包含无法识别的字符"
    resp = client.post("/api/v1/complaints", data="{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.is_json and body_of(resp)["message"]
    # the same token twice: the same case, not a second one
    first = client.post("/api/v1/complaints", json=_complaint(token="hotline-20261206-0001"))
    again = client.post("/api/v1/complaints", json=_complaint(token="hotline-20261206-0001"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert body_of(first)["number"] == body_of(again)["number"]


def test_tokens_are_hashed_scoped_revocable_and_errors_are_json(client, db, world, api_token):
    token, raw, headers = api_token("4141000003")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in token.token_hash
    assert token.user.role.value == "officer" and token.user.unit.code == "4141000003"
    assert client.post("/login", data={"username": token.user.username, "password": raw}).status_code != 302

    assert client.get("/api/v1/orders", headers=headers).status_code == 200
    resp = client.get("/api/v1/orders?page=x&state=nope", headers=headers)
    assert resp.status_code == 422 and body_of(resp)["errors"] == {"page": "页码应为正整数", "state": "没有这个状态"}
    resp = client.get("/api/v1/orders?foo=1", headers=headers)
    assert resp.status_code == 422 and body_of(resp)["errors"] == {"foo": "不支持该参数"}
    case, _ = ops.submit_complaint(complaint_data())
    ops.accept_case(world.user("supervisor", "410105"), case)
    (order,) = ops.issue_verification(world.user("supervisor", "410105"), case, [world.unit("4141000001")])
    db.session.commit()
    resp = client.get(f"/api/v1/orders/{order.number}", headers=headers)  # another school's order
    assert resp.status_code == 404 and body_of(resp)["message"] == "没有找到该单据，或您无权查看。"

    for bad in ({}, {"Authorization": "Bearer cf_nonsense"}, {"Authorization": "Basic eDp5"}):
        resp = client.get("/api/v1/orders", headers=bad)
        assert resp.status_code == 401 and resp.is_json and body_of(resp)["message"] == tokens.REFUSED
    tokens.revoke_token(world.user("admin", "410000"), db.session.get(ApiToken, token.id))
    db.session.commit()
    resp = client.get("/api/v1/orders", headers=headers)
    assert resp.status_code == 401 and body_of(resp)["message"] == tokens.REFUSED
    assert not db.session.get(User, token.user_id).active
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.is_json
    resp = client.patch("/api/v1/orders", headers=headers)
    assert resp.status_code == 405 and resp.is_json and "GET" in resp.headers["Allow"]
    assert client.get("/orders").status_code == 302  # the staff pages still want a log-in


def test_the_token_rate_limit(app, client, db, world, api_token):
    app.config.update(API_MAX_CALLS=3, API_WINDOW_SECONDS=60)
    _, _, headers = api_token("4141000003")
    answers = [client.get("/api/v1/orders", headers=headers).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert body_of(client.get("/api/v1/orders", headers=headers))["message"] == "接口调用过于频繁，请1分钟后再试。"


def test_webhooks_are_signed_retried_and_recorded(client, db, world, api_token, receiver, login):
    from caseflow import jobs

    _, _, headers = api_token("4141000001")
    resp = client.post("/api/v1/webhooks", json={"url": "ftp://example"}, headers=headers)
    assert resp.status_code == 422 and "http" in body_of(resp)["errors"]["url"]
    resp = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    secret = body_of(resp)["secret"]
    assert body_of(client.get("/api/v1/webhooks", headers=headers))["items"][0]["url"] == receiver.url

    receiver.answers.append(500)  # the receiver fails the first time
    case, _ = submit(db)  # the county is responsible: nothing for the school yet
    county_sup = world.user("supervisor", "410105")
    ops.accept_case(county_sup, case)
    (order,) = ops.issue_verification(county_sup, case, [world.unit("4141000001")])
    db.session.commit()  # the order reaches the school: one delivery, tried after the commit
    receiver.wait_for(1)
    delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
    item = db.session.get(OutboxItem, delivery.outbox_id)
    db.session.refresh(item)
    assert (item.state, item.attempts, delivery.delivered_at) == ("pending", 1, None)
    assert "HTTP 500" in item.last_error

    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        assert jobs.sweep(older_than_seconds=0) == 1  # the retry, after the backoff
    headers_seen, body = receiver.wait_for(2)[1]
    db.session.expire_all()
    assert delivery.status_code == 200 and delivery.delivered_at is not None and item.state == "done"
    expected = hmac.new(secret.encode(), headers_seen["x-caseflow-timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers_seen["x-caseflow-signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "order_issue" and payload["order"]["number"] == order.number
    assert payload["order"]["state"] == OrderState.SENT.value and payload["case"]["number"] == case.number

    # signing through the API is a status change the integration hears of too
    client.post(f"/api/v1/orders/{order.number}/sign", json={}, headers=headers)
    headers_seen, body = receiver.wait_for(3)[2]
    assert json.loads(body)["event"] == "order_sign" and json.loads(body)["to_state"] == "signed"

    login(world.user("admin", "410000"))  # each delivery is recorded, on the administrators' page
    page = client.get("/admin/api/tokens").get_data(as_text=True)
    assert "下发（待签收）" in page and "签收（办理中）" in page and page.count("已送达（200）") == 2


def test_administrators_create_and_revoke_tokens_on_their_page_and_the_command_line(app, client, db, world, login):
    admin = world.user("admin", "410000")
    login(admin)
    resp = client.post("/admin/api/tokens", data={"name": "", "unit": "没有这个单位"})
    assert resp.status_code == 400 and "请填写令牌名称" in resp.get_data(as_text=True)
    resp = client.post("/admin/api/tokens", data={"name": "12345热线平台", "unit": "没有这个单位"})
    assert resp.status_code == 400 and "12345热线平台" in resp.get_data(as_text=True)  # kept as typed
    resp = client.post("/admin/api/tokens", data={"name": "12345热线平台", "unit": "410105"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    token = db.session.scalars(sa.select(ApiToken)).one()
    raw = html.split('<code class="token">')[1].split("</code>")[0]
    assert tokens.digest(raw) == token.token_hash
    assert raw not in client.get("/admin/api/tokens").get_data(as_text=True)  # shown once only
    assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    resp = client.post(f"/admin/api/tokens/{token.id}/revoke")
    assert resp.status_code == 302
    assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    login(world.user("supervisor", "410105"))
    assert client.get("/admin/api/tokens").status_code == 403

    cli = app.test_cli_runner()
    result = cli.invoke(args=["api", "token", "create", "--unit", "4141000001", "--name", "学校系统"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("cf_")
    listed = cli.invoke(args=["api", "token", "list"]).output
    assert "学校系统" in listed and "4141000001" in listed and raw not in listed
    new_id = listed.splitlines()[0].split("\t")[0]
    assert cli.invoke(args=["api", "token", "revoke", new_id]).exit_code == 0
    assert cli.invoke(args=["api", "token", "revoke", new_id]).exit_code == 1  # already revoked
    assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_the_public_side_shares_the_pages_limits_and_needs_no_csrf_token(world, db, database_url):
    """With CSRF and the rate limits on, as served: the API takes JSON without a CSRF token, the forms still
    want theirs, and submitting is limited as on the citizen's form (429 in JSON, with Retry-After)."""
    from caseflow import create_app
    from caseflow.extensions import db as ext_db
    from tests.conftest import IsolatedClient

    served = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True,
                         "RATELIMIT_ENABLED": True, "RATE_LIMIT_SUBMIT": "2 per minute"})
    served.test_client_class = IsolatedClient
    try:
        client = served.test_client()
        # three complainants (one complainant's same complaint again would be refused as a repeat)
        answers = [client.post("/api/v1/complaints",
                               json=_complaint(token=f"limit-{i}", complainant_phone=f"1390000000{i}"))
                   for i in range(3)]
        assert [r.status_code for r in answers] == [201, 201, 429]
        assert answers[2].is_json and body_of(answers[2])["message"] == "尝试次数过多，请稍后再试。"
        assert int(answers[2].headers["Retry-After"]) > 0
        assert client.post("/track", data={"number": "X", "code": "Y"}).status_code == 400  # CSRF, as before
    finally:
        with served.app_context():
            ext_db.engine.dispose()


@pytest.mark.redis
def test_a_real_rq_worker_delivers_the_webhook(world, db, rq_app, run_worker, api_token, receiver):
    from caseflow.cases import webhooks

    token, _, _ = api_token("410105")
    hook, secret = webhooks.register(token, receiver.url)
    db.session.commit()
    case, _ = submit(db)  # the county is responsible: its integration hears of the new complaint
    delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
    assert delivery.delivered_at is None  # queued in Redis, not yet run
    run_worker()
    headers_seen, body = receiver.wait_for(1)[0]
    assert json.loads(body)["case"]["number"] == case.number and json.loads(body)["event"] == "submit"
    assert headers_seen["x-caseflow-signature"] == "sha256=" + hmac.new(
        secret.encode(), headers_seen["x-caseflow-timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    db.session.expire_all()
    assert delivery.status_code == 200 and db.session.get(OutboxItem, delivery.outbox_id).state == "done"


def test_wrong_tokens_are_throttled_per_address(app, client, db, world, api_token):
    app.config.update(API_MAX_FAILURES=3)
    _, _, headers = api_token("4141000003")
    for _ in range(5):
        assert client.get("/api/v1/orders").status_code == 401  # no token: refused, not counted
    answers = [client.get("/api/v1/orders", headers={"Authorization": "Bearer cf_guess"}).status_code
               for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    resp = client.get("/api/v1/orders", headers=headers)
    assert resp.status_code == 429 and "接口令牌错误次数过多" in body_of(resp)["message"]


def test_a_citizens_repeat_is_refused_and_a_merged_complaint_reads_its_primary(client, db, world):
    """The API applies the form's repeat rule (409 naming the first case) and, once staff merge a
    complaint from someone else about the same student, its status reads the primary's progress."""
    from caseflow.cases import merging, repeats

    first = client.post("/api/v1/complaints", json=_complaint(notice="none"))
    assert first.status_code == 201, first.get_data(as_text=True)
    number = body_of(first)["number"]
    assert db.session.scalars(sa.select(Case).where(Case.number == number)).one().notice.value == "none"
    again = client.post("/api/v1/complaints", json=_complaint())  # same complainant, student and category
    assert again.status_code == 409 and number in body_of(again)["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1

    other = client.post("/api/v1/complaints", json=_complaint(complainant_name="王建国", complainant_phone="13607711234"))
    assert other.status_code == 201
    second = db.session.scalars(sa.select(Case).where(Case.number == body_of(other)["number"])).one()
    (match,) = repeats.matches_of(second)
    assert match.case.number == number
    merging.merge_case(world.user("supervisor", "410105"), second, match.case, "同一学生同一问题。")
    db.session.commit()
    status = client.get(f"/api/v1/complaints/{second.number}",
                        headers={"X-Access-Code": body_of(other)["access_code"]})
    assert status.status_code == 200
    read = body_of(status)
    assert read["state"] == "merged" and read["merged_into"] == number and number in read["note"]


def test_a_hotline_relays_a_phone_complaint(client, db, world):
    """A hotline platform relays the calls it took as phone complaints (followed up by a call, not refused as a
    citizen's repeat); any other source is refused on its field."""
    from caseflow.models import CaseEvent, CaseSource

    first = client.post("/api/v1/complaints", json=_complaint(source="phone"))
    again = client.post("/api/v1/complaints", json=_complaint(source="phone"))
    assert (first.status_code, again.status_code) == (201, 201)
    case = db.session.scalars(sa.select(Case).where(Case.number == body_of(first)["number"])).one()
    assert case.source is CaseSource.PHONE and case.state is CaseState.SUBMITTED
    note = db.session.scalars(sa.select(CaseEvent.note).where(CaseEvent.case_id == case.id,
                                                              CaseEvent.action == "submit")).one()
    assert note.startswith("电话（由外部平台转入）")
    wrong = client.post("/api/v1/complaints", json=_complaint(source="monitoring"))
    assert wrong.status_code == 422 and body_of(wrong)["errors"]["source"] == "请选择投诉来源"


def test_a_transfer_is_announced_to_both_units(client, db, world, api_token, receiver):
    """转办 moves a case to another bureau: the integrations of the unit it leaves and of the unit it reaches
    both hear of it."""
    from caseflow.models import Webhook

    for code in ("410105", "410100"):
        _, _, headers = api_token(code)
        assert client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers).status_code == 201
    case, _ = submit(db)
    ops.transfer_case(world.user("supervisor", "410105"), case, world.unit("410100"), "涉及两个区的学校，由市局办理。")
    db.session.commit()
    told = db.session.execute(sa.select(Webhook.unit_id, WebhookDelivery.event).join(
        WebhookDelivery, WebhookDelivery.webhook_id == Webhook.id)).all()
    assert {(unit_id, event) for unit_id, event in told if event == "transfer"} == {
        (world.unit("410105").id, "transfer"), (world.unit("410100").id, "transfer")}
