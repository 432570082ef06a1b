"""The whole handling path through the officials' web pages, and its side paths.

A complaint about two schools in two Zhengzhou districts is the city's (410100):
verification down to a school and back, a supervision order down and back, closing,
the complainant's rating.
"""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import operations
from caseflow.deadlines.settings import current_rules
from caseflow.models import (
    Case,
    CaseEvent,
    CaseState,
    ExtensionState,
    Order,
    OrderKind,
    OrderState,
    Rating,
    Verdict,
)
from caseflow.timeutil import local_today
from tests.factories import submit
from tests.web.staff_support import Browser, errors_of, fresh

TWO_SCHOOLS = ("4141000001", "4141000003")


def _due(key: str):
    return current_rules().after(local_today(), key).on


def _orders(db, case, **where) -> list[Order]:
    db.session.expire_all()
    query = sa.select(Order).where(Order.case_id == case.id).order_by(Order.id)
    for key, value in where.items():
        query = query.where(getattr(Order, key) == value)
    return list(db.session.scalars(query))


def _actions(db, case) -> list[str]:
    return list(db.session.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.id)))


def _verification_to_county(app, db, world, case):
    """City accepts and sends a verification order to 金水区; returns (city browser, root order)."""
    city = Browser(app, world.user("supervisor", "410100"))
    page = city.page(f"/cases/{case.number}")
    assert "受理" in page and "不予受理" in page
    city.act(f"/cases/{case.number}/accept", "accept", fresh(db, case).version_id)
    assert fresh(db, case).state is CaseState.REGISTERED
    page = city.page(f"/cases/{case.number}")
    # The districts on the way to the two schools are suggested first.
    assert "金水区教育局（410105）（建议）" in page and "二七区教育局（410103）（建议）" in page
    city.act(f"/cases/{case.number}/verify", "verify", fresh(db, case).version_id,
             units=["410105"], content="核实张小明在金水区第一小学的学籍注册情况。")
    (root,) = _orders(db, case)
    return city, root


def _relay_to_school(app, db, world, order):
    """The county signs and relays the order to 金水区第一小学; returns (county browser, child)."""
    county = Browser(app, world.user("officer", "410105"))
    assert order.number in county.page("/inbox")
    page = county.page(f"/orders/{order.number}")
    assert "签收" in page and "退回" in page
    county.act(f"/orders/{order.number}/sign", "sign", fresh(db, order).version_id,
               acting_person="金水区王老师", acting_phone="0371-65901234")
    order = fresh(db, order)
    assert order.state is OrderState.SIGNED and order.acting_person == "金水区王老师" and order.signed_on_time
    county.act(f"/orders/{order.number}/relay", "relay", order.version_id, unit_text="4141000001")
    order = fresh(db, order)
    assert order.state is OrderState.RELAYED
    (child,) = order.children
    assert child.receiving_unit.code == "4141000001" and child.state is OrderState.SENT
    return county, child


def test_full_path(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    assert case.responsible_unit.code == "410100" and case.state is CaseState.SUBMITTED
    assert case.action_due_on == _due("issue_verification_days")

    # Verification: city -> county -> school.
    city, root = _verification_to_county(app, db, world, case)
    case = fresh(db, case)
    assert case.state is CaseState.VERIFYING and case.action_due_on is None
    assert root.kind is OrderKind.VERIFICATION and root.receiving_unit.code == "410105"
    assert root.due_on == _due("verification_days") and root.sign_due_on == _due("sign_days")
    assert root.content == "核实张小明在金水区第一小学的学籍注册情况。"

    county, child = _relay_to_school(app, db, world, root)
    assert child.due_on == root.due_on  # a relay keeps the parent's deadline

    school = Browser(app, world.user("officer", "4141000001"))
    assert child.number in school.page("/inbox")
    school.act(f"/orders/{child.number}/sign", "sign", fresh(db, child).version_id, acting_person="李老师")
    school.act(f"/orders/{child.number}/report", "report", fresh(db, child).version_id,
               verdict="true", text="经核实，该生在校就读，学校未办理学籍注册，现已补办。")
    child = fresh(db, child)
    assert child.state is OrderState.REPORTED and child.verdict is Verdict.TRUE and child.completed_on_time

    # The county's report is prefilled with the school's findings.
    page = county.page(f"/orders/{root.number}")
    assert "经核实，该生在校就读" in page
    county.act(f"/orders/{root.number}/report", "report", fresh(db, root).version_id,
               verdict="true", text="经核实，该生在校就读，学校未办理学籍注册，现已补办。金水区已督促。")
    root, child = fresh(db, root), fresh(db, child)
    assert root.state is OrderState.REPORTED and child.state is OrderState.ACCEPTED

    assert root.number in city.page("/inbox")
    city.act(f"/orders/{root.number}/accept", "accept", root.version_id)
    case = fresh(db, case)
    assert fresh(db, root).state is OrderState.ACCEPTED
    assert case.state is CaseState.DECIDING and case.action_due_on == _due("decision_days")

    # Supervision: city -> county -> school, result back up.
    city.act(f"/cases/{case.number}/supervise", "supervise", case.version_id, unit="410105",
             content="张小明学籍未注册。", opinion="请金水区督促学校三日内完成学籍注册并报告。")
    case = fresh(db, case)
    (sup,) = _orders(db, case, kind=OrderKind.SUPERVISION)
    assert case.state is CaseState.HANDLING
    assert sup.due_on == _due("supervision_days") and sup.handling_opinion.startswith("请金水区督促")
    county.act(f"/orders/{sup.number}/sign", "sign", sup.version_id, acting_person="王老师")
    county.act(f"/orders/{sup.number}/relay", "relay", fresh(db, sup).version_id, unit="4141000001",
               note="请学校立即办理。")
    (sup_child,) = fresh(db, sup).children
    assert "请学校立即办理" in sup_child.content
    school.act(f"/orders/{sup_child.number}/sign", "sign", sup_child.version_id, acting_person="李老师")
    school.act(f"/orders/{sup_child.number}/report", "report", fresh(db, sup_child).version_id,
               text="已于今日完成学籍注册，学籍号已生成。")
    assert "已于今日完成学籍注册" in county.page(f"/orders/{sup.number}")
    county.act(f"/orders/{sup.number}/report", "report", fresh(db, sup).version_id,
               text="已于今日完成学籍注册，学籍号已生成。")
    city.act(f"/orders/{sup.number}/accept", "accept", fresh(db, sup).version_id)
    case = fresh(db, case)
    assert case.state is CaseState.CONCLUDING

    city.act(f"/cases/{case.number}/close", "close", case.version_id,
             reply="经核实，学校未及时为孩子办理学籍注册，现已补办完成。")
    case = fresh(db, case)
    assert case.state is CaseState.CLOSED and case.closed_at is not None
    assert case.reply.startswith("经核实")

    operations.rate_case(case, Rating.SATISFIED)
    db.session.commit()
    case = fresh(db, case)
    assert case.rating is Rating.SATISFIED and case.state is CaseState.CLOSED

    assert _actions(db, case) == [
        "submit", "accept", "issue_verification", "order_issue",
        "order_sign", "order_relay", "order_issue", "order_sign", "order_report",
        "order_report", "order_accept", "order_accept", "findings_complete",
        "issue_supervision", "order_issue", "order_sign", "order_relay", "order_issue",
        "order_sign", "order_report", "order_report", "order_accept", "order_accept", "results_complete",
        "close", "informed", "follow_up_open", "rate", "follow_up_online",
    ]
    # The timeline names the actors and units and the state labels.
    page = city.page(f"/cases/{case.number}")
    assert "郑州市教" in page and "金水区教育局" in page and "待受理 → 已受理" in page
    assert "办结并答复投诉人" in page


def test_return_wrongly_addressed_waits_for_review_then_redispatches(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    city, root = _verification_to_county(app, db, world, case)
    county = Browser(app, world.user("officer", "410105"))
    resp = county.post(f"/orders/{root.number}/return", data={"return-version": root.version_id,
                                                              "return-reason": ""})
    assert resp.status_code == 400 and "请填写退回理由" in resp.get_data(as_text=True)
    county.act(f"/orders/{root.number}/return", "return", root.version_id, reason="该生不在本区学校就读。")
    root = fresh(db, root)
    # A return is a request: it waits for the city's review, due within one working day.
    assert root.state is OrderState.RETURN_PENDING and root.return_reason == "该生不在本区学校就读。"
    assert root.review_due_on == current_rules().after(local_today(), "return_review_days").on
    assert root.number not in county.page("/inbox")
    assert root.number in city.page("/inbox")
    page = city.page(f"/orders/{root.number}")
    assert "下一步：审核退回申请" in page and "二七区教育局（410103）（建议）" in page
    # Confirming with the right district picked in the same form re-dispatches the order there.
    city.act(f"/orders/{root.number}/return/review", "review", root.version_id, unit_text="二七区教育局",
             note="确属二七区。", confirm="同意退回")
    root = fresh(db, root)
    assert root.state is OrderState.RETURNED and root.return_decision == "确属二七区。"
    orders = _orders(db, case, state=OrderState.SENT)
    assert [o.receiving_unit.code for o in orders] == ["410103"]
    assert orders[0].content == root.content and fresh(db, case).state is CaseState.VERIFYING


def test_refused_return_keeps_the_order_where_it_was(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    city, root = _verification_to_county(app, db, world, case)
    county = Browser(app, world.user("officer", "410105"))
    county.act(f"/orders/{root.number}/sign", "sign", root.version_id, acting_person="王老师")
    signed = fresh(db, root)
    county.act(f"/orders/{root.number}/return", "return", signed.version_id, reason="不是本区学生。")
    pending = fresh(db, root)
    # Refusing without a reason is refused by the field, what was typed kept.
    resp = city.post(f"/orders/{root.number}/return/review", data={
        "review-version": pending.version_id, "review-note": "", "review-unit_text": "二七", "review-refuse": "不同意退回"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请填写不同意退回的理由" in html and 'value="二七"' in html
    # Neither button: no decision.
    resp = city.post(f"/orders/{root.number}/return/review", data={
        "review-version": pending.version_id, "review-note": "学籍在金水区。"})
    assert resp.status_code == 400 and "请点击“同意退回”或“不同意退回”作出决定。" in resp.get_data(as_text=True)
    city.act(f"/orders/{root.number}/return/review", "review", pending.version_id, note="学籍在金水区。",
             refuse="不同意退回")
    after = fresh(db, root)
    assert after.state is OrderState.SIGNED and after.due_on == signed.due_on
    assert after.return_decision == "学籍在金水区。" and root.number in county.page("/inbox")


def test_disputed_return_is_decided_one_level_up(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    _, root = _verification_to_county(app, db, world, case)
    county, child = _relay_to_school(app, db, world, root)
    school = Browser(app, world.user("officer", "4141000001"))
    school.act(f"/orders/{child.number}/return", "return", child.version_id, reason="该生不是本校学生。")
    assert fresh(db, root).state is OrderState.RELAYED  # nothing happens above until the return is decided
    resp = county.post(f"/orders/{child.number}/return/refer", data={"refer-version": fresh(db, child).version_id,
                                                                      "refer-note": ""})
    assert resp.status_code == 400 and "请填写提请上级裁定的说明" in resp.get_data(as_text=True)
    county.act(f"/orders/{child.number}/return/refer", "refer", fresh(db, child).version_id, note="学校与区里各执一词。")
    child = fresh(db, child)
    assert child.state is OrderState.RETURN_PENDING and child.return_reviewer.code == "410100"
    # The county can no longer decide it; the city (the level above) rules.
    assert "下一步：审核退回申请" not in county.page(f"/orders/{child.number}")
    city = Browser(app, world.user("supervisor", "410100"))
    assert child.number in city.page("/inbox")
    city.act(f"/orders/{child.number}/return/review", "review", child.version_id, note="确非该校学生。",
             confirm="同意退回")
    assert fresh(db, child).state is OrderState.RETURNED
    assert fresh(db, root).state is OrderState.SIGNED
    assert "relay" in county.page(f"/orders/{root.number}")


def _extension_requested(app, db, world, new_due=None):
    """The county signs the city's order and asks for a later deadline; returns (city, county, root)."""
    case, _ = submit(db, schools=TWO_SCHOOLS)
    city, root = _verification_to_county(app, db, world, case)
    county = Browser(app, world.user("officer", "410105"))
    county.act(f"/orders/{root.number}/sign", "sign", root.version_id, acting_person="王老师")
    county.act(f"/orders/{root.number}/extension", "extend", fresh(db, root).version_id,
               new_due_on=current_rules().after(root.due_on, "verification_days").on.isoformat(), reason="需到校实地核查。")
    return city, county, fresh(db, root)


def _decide(city, db, root, button: str, note: str):
    resp = city.post(f"/orders/{root.number}/extension/decide",
                     data={"decide-version": fresh(db, root).version_id, f"decide-{button}": "1",
                           "decide-note": note})
    assert resp.status_code == 302


def test_extension_approved(app, db, world):
    city, county, root = _extension_requested(app, db, world)
    new_due = root.extensions[0].requested_due_on
    assert new_due > root.due_on
    assert root.number in city.page("/inbox") and "待审批延期申请" in city.page("/inbox")
    page = city.page(f"/orders/{root.number}")
    assert "申请将完成时限" in page and 'name="decide-approve"' in page and 'name="decide-refuse"' in page
    _decide(city, db, root, "approve", "同意。")
    root = fresh(db, root)
    assert root.due_on == new_due and root.extensions[0].state is ExtensionState.APPROVED
    assert "已批准" in county.page(f"/orders/{root.number}")


def test_extension_refused(app, db, world):
    city, county, root = _extension_requested(app, db, world)
    old_due = root.due_on
    _decide(city, db, root, "refuse", "时间充足。")
    root = fresh(db, root)
    assert root.due_on == old_due and root.extensions[0].state is ExtensionState.REFUSED
    assert "时间充足。" in county.page(f"/orders/{root.number}")
    # A new request must name a later date; the refusal is by the field and the reason is kept.
    resp = county.post(f"/orders/{root.number}/extension",
                       data={"extend-version": root.version_id, "extend-new_due_on": old_due.isoformat(),
                             "extend-reason": "仍需实地核查。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "申请的完成时限应晚于当前完成时限" in html and "仍需实地核查。" in html


def test_reject(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    city = Browser(app, world.user("supervisor", "410100"))
    resp = city.post(f"/cases/{case.number}/reject", data={"reject-version": case.version_id})
    assert resp.status_code == 400 and "请填写不予受理的理由及办理渠道" in resp.get_data(as_text=True)
    city.act(f"/cases/{case.number}/reject", "reject", case.version_id,
             reason="该问题属于招生入学问题，请向区教育局招生办反映。")
    case = fresh(db, case)
    assert case.state is CaseState.REJECTED and case.rejection_reason.startswith("该问题属于招生")
    page = city.page(f"/cases/{case.number}")
    assert "不予受理理由" in page and 'action="/cases/' + case.number + '/accept"' not in page


def test_send_back_for_rework(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    city, root = _verification_to_county(app, db, world, case)
    county = Browser(app, world.user("officer", "410105"))
    county.act(f"/orders/{root.number}/sign", "sign", root.version_id, acting_person="王老师")
    county.act(f"/orders/{root.number}/report", "report", fresh(db, root).version_id, verdict="untrue",
               text="查无此人。")
    city.act(f"/orders/{root.number}/send-back", "send_back", fresh(db, root).version_id,
             reason="请到两所学校分别核实。")
    root = fresh(db, root)
    assert root.state is OrderState.SIGNED and root.sent_back_reason == "请到两所学校分别核实。"
    assert fresh(db, case).state is CaseState.VERIFYING
    assert root.number in county.page("/inbox")
    assert "请到两所学校分别核实。" in county.page(f"/orders/{root.number}")


def test_not_satisfied_starts_new_round(app, db, world):
    case, _ = submit(db)  # one school: 金水区 is responsible
    sup = Browser(app, world.user("supervisor", "410105"))
    sup.act(f"/cases/{case.number}/accept", "accept", case.version_id)
    sup.act(f"/cases/{case.number}/verify", "verify", fresh(db, case).version_id, units=["4141000001"],
            content="核实学籍。")
    (order,) = _orders(db, case)
    school = Browser(app, world.user("officer", "4141000001"))
    school.act(f"/orders/{order.number}/sign", "sign", order.version_id, acting_person="李老师")
    school.act(f"/orders/{order.number}/report", "report", fresh(db, order).version_id, verdict="untrue",
               text="已注册。")
    sup.act(f"/orders/{order.number}/accept", "accept", fresh(db, order).version_id)
    sup.act(f"/cases/{case.number}/close", "close", fresh(db, case).version_id, reply="经核实学籍已注册。")
    operations.rate_case(fresh(db, case), Rating.UNSATISFIED, "学籍至今查不到。")
    db.session.commit()
    case = fresh(db, case)
    assert case.state is CaseState.REGISTERED and case.round == 2
    assert case.action_due_on == _due("issue_verification_days")
    # Back in the same unit's list with a new round to start.
    assert case.number in sup.page("/cases?mine=1&state=registered")
    page = sup.page(f"/cases/{case.number}")
    assert "第2轮" in page and "学籍至今查不到。" in page and "下发核查单" in page
    sup.act(f"/cases/{case.number}/verify", "verify", case.version_id, units=["4141000001"], content="再次核实。")
    assert [o.round for o in _orders(db, case)] == [1, 2]


def test_invalid_unit_and_ambiguous_name_keep_text(app, db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    city = Browser(app, world.user("supervisor", "410100"))
    city.act(f"/cases/{case.number}/accept", "accept", case.version_id)
    v = fresh(db, case).version_id
    resp = city.post(f"/cases/{case.number}/verify", data={"verify-version": v, "verify-unit_text": "4141000001",
                                                          "verify-content": "我的所投诉事项"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "须为郑州市教育局的直属下级单位" in html and "我的所投诉事项" in html
    resp = city.post(f"/cases/{case.number}/verify", data={"verify-version": v, "verify-unit_text": "区教育局",
                                                          "verify-content": "我的所投诉事项"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请从下面选择一个" in html, errors_of(html)
    assert fresh(db, case).state is CaseState.REGISTERED
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0
    assert db.session.get(Case, case.id) is not None


def test_extension_decision_without_a_button_is_an_error_not_a_refusal(app, db, world):
    city, county, root = _extension_requested(app, db, world)
    resp = city.post(f"/orders/{root.number}/extension/decide",
                     data={"decide-version": fresh(db, root).version_id, "decide-note": "再议。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请点击“同意延期”或“不同意”作出决定" in html and "再议。" in html
    root = fresh(db, root)
    assert root.extensions[0].state is ExtensionState.PENDING


def test_extension_date_is_limited_by_the_setting(app, db, world):
    from caseflow.deadlines.policy import latest_extension

    case, _ = submit(db, schools=TWO_SCHOOLS)
    _, root = _verification_to_county(app, db, world, case)
    county = Browser(app, world.user("officer", "410105"))
    county.act(f"/orders/{root.number}/sign", "sign", root.version_id, acting_person="王老师")
    root = fresh(db, root)
    resp = county.post(f"/orders/{root.number}/extension",
                       data={"extend-version": root.version_id, "extend-new_due_on": "2100-01-04",
                             "extend-reason": "需要很久。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "延期最多10个工作日" in html and "需要很久。" in html
    assert fresh(db, root).extensions == []
    county.act(f"/orders/{root.number}/extension", "extend", root.version_id,
               new_due_on=latest_extension(current_rules(), root.due_on).isoformat(), reason="需实地核查。")
    assert len(fresh(db, root).extensions) == 1
