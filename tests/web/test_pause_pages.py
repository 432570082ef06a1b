"""The clock-pause forms on the order page (中止计时), the lists' label while paused, and the citizen's words."""
from __future__ import annotations

from caseflow.cases import operations as ops
from caseflow.models import ExtensionState, OrderState, PauseReason
from tests.factories import submit
from tests.web.staff_support import Browser, errors_of, fresh

SCHOOL, DISTRICT = "4141000001", "410105"


def _signed(app, db, world):
    """A verification order from 金水区 to its school, signed for; returns (school browser, district browser, order)."""
    case, code = submit(db)
    sup = world.user("supervisor", DISTRICT)
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit(SCHOOL)])
    ops.sign_order(world.user("officer", SCHOOL), order)
    db.session.commit()
    return Browser(app, world.user("officer", SCHOOL)), Browser(app, sup), order, code


def test_pause_request_errors_are_by_their_fields_and_keep_what_was_typed(app, db, world):
    school, _district, order, _ = _signed(app, db, world)
    page = school.page(f"/orders/{order.number}")
    assert "申请中止计时" in page and "等待投诉人补充材料" in page and "需其他部门认定" in page
    resp = school.post(f"/orders/{order.number}/pause", data={"pause-version": order.version_id,
                                                               "pause-detail": "家长外出务工"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请选择中止计时的原因" in errors_of(html) and "家长外出务工" in html
    resp = school.post(f"/orders/{order.number}/pause", data={"pause-version": order.version_id,
                                                               "pause-reason": "other", "pause-detail": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "原因为“其他”时，请说明中止计时的原因" in errors_of(html)
    assert '<input checked id="pause-reason-2" name="pause-reason" type="radio" value="other">' in html  # kept
    assert fresh(db, order).pauses == []


def test_pause_asked_approved_shown_everywhere_and_resumed(app, db, world, client):
    school, district, order, code = _signed(app, db, world)
    school.act(f"/orders/{order.number}/pause", "pause", order.version_id, reason="awaiting_complainant",
               detail="请家长提供转学证明。")
    order = fresh(db, order)
    assert order.state is OrderState.SIGNED and order.pauses[0].state is ExtensionState.PENDING
    assert order.number in district.page("/inbox") and "待审批中止计时申请" in district.page("/inbox")
    page = district.page(f"/orders/{order.number}")
    assert "下一步：审批中止计时申请" in page and "请家长提供转学证明。" in page
    # Neither button: an error, not a decision.
    resp = district.post(f"/orders/{order.number}/pause/decide",
                         data={"decidepause-version": order.version_id, "decidepause-note": "可以。"})
    assert resp.status_code == 400 and "请点击“同意中止计时”或“不同意”作出决定。" in resp.get_data(as_text=True)
    district.act(f"/orders/{order.number}/pause/decide", "decidepause", order.version_id, note="同意。",
                 approve="同意中止计时")
    order = fresh(db, order)
    assert order.state is OrderState.PAUSED
    # Every list says the clock is stopped, not overdue or days left.
    for b, url in ((school, "/orders"), (district, "/orders"), (school, f"/orders/{order.number}"),
                   (district, f"/cases/{order.case.number}")):
        assert "已暂停计时" in b.page(url), url
    assert order.number not in school.page("/inbox")  # nothing to do while paused
    # The citizen is told why, in public words.
    client.post("/track", data={"number": order.case.number, "code": code})
    public = client.get(f"/track/{order.case.number}").get_data(as_text=True)
    assert "办理单位正在等待您补充材料，暂停计时" in public and "转学证明" not in public
    # Either end may restart the clock.
    assert "恢复计时" in district.page(f"/orders/{order.number}")
    school.act(f"/orders/{order.number}/resume", "resume", order.version_id)
    order = fresh(db, order)
    assert order.state is OrderState.SIGNED and order.pauses[0].ended_at is not None
    assert "已暂停计时" not in school.page(f"/orders/{order.number}").split("中止计时</h2>")[0]


def test_the_receiver_cannot_approve_its_own_pause(app, db, world):
    school, _district, order, _ = _signed(app, db, world)
    ops.request_pause(world.user("officer", SCHOOL), order, PauseReason.OTHER_AUTHORITY)
    db.session.commit()
    resp = school.post(f"/orders/{order.number}/pause/decide",
                       data={"decidepause-version": fresh(db, order).version_id, "decidepause-approve": "1"})
    assert resp.status_code == 403
