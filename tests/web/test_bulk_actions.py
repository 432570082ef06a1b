"""Bulk sign and 催办 (issue 16): each order its own transaction, event and checks; refusals reported."""
from __future__ import annotations

import re

import sqlalchemy as sa

from caseflow.cases import operations, permissions
from caseflow.models import CaseEvent, Notification, OrderState, Verdict
from tests.factories import submit
from tests.web.staff_support import Browser, fresh
from tests.web.test_staff_pages import issue


def _refused(html: str) -> dict[str, str]:
    table = html.split('id="bulk-refused"', 1)[1] if 'id="bulk-refused"' in html else ""
    return dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", table))


def _done(html: str) -> list[str]:
    block = html.split('id="bulk-done"', 1)[1].split("</ul>", 1)[0] if 'id="bulk-done"' in html else ""
    return re.findall(r'<a href="/orders/([^"]+)">', block)


def _events(db, order, action: str) -> list[CaseEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(CaseEvent).where(CaseEvent.order_id == order.id,
                                                              CaseEvent.action == action)))


def test_bulk_sign_of_three_where_one_was_signed_meanwhile(app, db, world):
    a, b, c = issue(db, world, 3)
    officer = world.user("officer", "4141000001")
    browser = Browser(app, officer)
    operations.sign_order(officer, fresh(db, b), "王老师", None)  # a colleague signed it a moment ago
    db.session.commit()
    resp = browser.post("/orders/bulk/sign", data={"orders": [a.number, b.number, c.number]})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert _done(html) == [a.number, c.number]
    refused = _refused(html)
    assert refused == {b.number: "该单当前状态为“办理中”，不能执行“签收”。"}
    for order in (a, b, c):
        assert fresh(db, order).state is OrderState.SIGNED
        assert len(_events(db, order, "order_sign")) == 1  # its own event, once
    assert fresh(db, a).acting_person == officer.name
    assert fresh(db, b).acting_person == "王老师"  # the earlier signature is untouched


def test_bulk_sign_reports_orders_of_other_units_and_unknown_numbers(app, db, world):
    (mine,) = issue(db, world, 1)
    (elsewhere,) = issue(db, world, 1, school="4141000002")
    browser = Browser(app, world.user("officer", "4141000001"))
    html = browser.post("/orders/bulk/sign", data={"orders": [mine.number, elsewhere.number, "HC2099-999999"]}
                        ).get_data(as_text=True)
    assert _done(html) == [mine.number]
    refused = _refused(html)
    assert set(refused) == {elsewhere.number, "HC2099-999999"}
    assert all("没有找到该单据" in reason for reason in refused.values())
    assert fresh(db, elsewhere).state is OrderState.SENT
    assert browser.post("/orders/bulk/sign", data={}).status_code == 400


def test_bulk_remind_to_several_orders_where_one_is_not_the_supervisors(app, db, world):
    jinshui = issue(db, world, 2)
    case, _ = submit(db, schools=("4141000004",))  # 洛阳 西工区: not under 郑州
    luoyang_sup = world.user("supervisor", "410303")
    operations.accept_case(luoyang_sup, case)
    (luoyang,) = operations.issue_verification(luoyang_sup, case, [world.unit("4141000004")])
    db.session.commit()
    city = Browser(app, world.user("supervisor", "410100"))
    numbers = [jinshui[0].number, luoyang.number, jinshui[1].number]
    html = city.post("/orders/bulk/remind", data={"orders": numbers, "message": "请于明日前报送核查情况。"}
                     ).get_data(as_text=True)
    assert _done(html) == [jinshui[0].number, jinshui[1].number]
    assert list(_refused(html)) == [luoyang.number]
    for order in jinshui:
        (event,) = _events(db, order, "chase_remind")
        assert event.note.endswith("：请于明日前报送核查情况。") and "郑州市教育局催办" in event.note
        assert event.actor_id == world.user("supervisor", "410100").id
    assert _events(db, luoyang, "chase_remind") == []
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "remind")).all()
    receivers = {n.user_id for n in notes}
    assert receivers == {world.user("officer", "4141000001").id}  # the school has officers only
    assert len(notes) == 2 and all(n.title.startswith("【催办】") for n in notes)


def test_remind_rule_a_supervisor_above_the_receiver_while_the_order_runs(app, db, world):
    (order,) = issue(db, world, 1)
    county_sup, city_sup = world.user("supervisor", "410105"), world.user("supervisor", "410100")
    assert permissions.can(county_sup, "remind", order) and permissions.can(city_sup, "remind", order)
    assert not permissions.can(world.user("officer", "410105"), "remind", order)
    assert not permissions.can(world.user("supervisor", "410300"), "remind", order)
    officer = world.user("officer", "4141000001")
    operations.sign_order(officer, order, "王老师", None)
    operations.report_order(officer, order, text="已核实。", verdict=Verdict.TRUE)
    db.session.commit()
    assert permissions.can(city_sup, "remind", order, check_state=False)
    assert not permissions.can(city_sup, "remind", order)  # reported: nothing left to chase
    assert "remind" not in permissions.allowed_actions(city_sup, order)


def test_single_remind_from_the_order_page(app, db, world):
    (order,) = issue(db, world, 1)
    sup = Browser(app, world.user("supervisor", "410105"))
    page = sup.page(f"/orders/{order.number}")
    assert f'action="/orders/{order.number}/remind"' in page and 'name="message"' in page
    resp = sup.post(f"/orders/{order.number}/remind", data={"message": "请尽快签收。"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/orders/{order.number}"
    (event,) = _events(db, order, "chase_remind")
    assert event.note.endswith("：请尽快签收。")
    assert "催办" in sup.page(f"/cases/{order.case.number}")  # on the case's timeline
    assert sup.post(f"/orders/{order.number}/remind", data={"message": " "}).status_code == 400
    officer = Browser(app, world.user("officer", "4141000001"))
    assert officer.post(f"/orders/{order.number}/remind", data={"message": "催"}).status_code == 403
    assert len(_events(db, order, "chase_remind")) == 1
