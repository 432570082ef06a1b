"""The whole lifecycle through the domain operations, with relays, deadlines and side paths."""
from datetime import date

import pytest
import time_machine

from caseflow.cases import operations as ops
from caseflow.errors import IllegalTransition, InvalidInput, NotAllowed
from caseflow.models import CaseEvent, CaseState, OrderKind, OrderState, Rating, Verdict
from tests.factories import submit

# Monday 2026-09-28, shortly before the National Day holiday.
START = "2026-09-28 09:00 +0800"


def _events(db, case):
    return [e.action for e in db.session.scalars(db.select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                 .order_by(CaseEvent.id))]


@time_machine.travel(START, tick=False)
def test_two_county_case_through_relays_to_closing(world, db):
    case, _ = submit(db, schools=("4141000001", "4141000003"))
    city_sup = world.user("supervisor", "410100")
    county_off = world.user("officer", "410105")
    school_off = world.user("officer", "4141000001")
    assert case.responsible_unit.code == "410100"
    assert case.action_due_on == date(2026, 10, 8)  # 3 working days: 29, 30, (holiday), 10-08

    ops.accept_case(city_sup, case)
    (order,) = ops.issue_verification(city_sup, case, [world.unit("410105")], "核实是否未办理学籍注册")
    db.session.commit()
    assert case.state is CaseState.VERIFYING
    assert order.kind is OrderKind.VERIFICATION and order.number.startswith("HC2026-")
    # 5 working days after 09-28: 29, 30, (holiday 10-01..07), 08, 09, 10 (make-up Saturday)
    assert order.due_on == date(2026, 10, 10)
    assert order.sign_due_on == date(2026, 9, 29)

    ops.sign_order(county_off, order)
    child = ops.relay_order(county_off, order, world.unit("4141000001"))
    db.session.commit()
    assert order.state is OrderState.RELAYED and child.parent is order
    assert child.due_on <= order.due_on
    with pytest.raises(IllegalTransition):
        ops.report_order(county_off, order, text="未核实", verdict=Verdict.TRUE)
    db.session.rollback()

    ops.sign_order(school_off, child)
    ops.report_order(school_off, child, text="经核实，该生确未注册学籍。", verdict=Verdict.TRUE)
    db.session.commit()
    assert child.signed_on_time is True and child.completed_on_time is True
    ops.report_order(county_off, order)  # forwards the school's findings up
    db.session.commit()
    assert order.findings == "经核实，该生确未注册学籍。" and order.verdict is Verdict.TRUE
    assert child.state is OrderState.ACCEPTED

    ops.accept_report(city_sup, order)
    db.session.commit()
    assert case.state is CaseState.DECIDING
    assert case.action_due_on == date(2026, 10, 10)  # 5 working days: 29, 30, 08, 09, 10 (make-up Sat)

    sup = ops.issue_supervision(city_sup, case, world.unit("410105"), "责成学校三日内办理学籍注册")
    db.session.commit()
    ops.sign_order(county_off, sup)
    sup_child = ops.relay_order(county_off, sup, world.unit("4141000001"))
    ops.sign_order(school_off, sup_child)
    ops.report_order(school_off, sup_child, text="已为该生办理学籍注册。")
    ops.report_order(county_off, sup)
    ops.accept_report(city_sup, sup)
    db.session.commit()
    assert case.state is CaseState.CONCLUDING

    ops.close_case(city_sup, case, "经核实，学校已为您的孩子办理学籍注册。")
    db.session.commit()
    assert case.state is CaseState.CLOSED and case.closed_at is not None
    ops.rate_case(case, Rating.SATISFIED)
    db.session.commit()
    assert case.rating is Rating.SATISFIED
    with pytest.raises(IllegalTransition):
        ops.rate_case(case, Rating.UNSATISFIED, "再评一次")
    actions = _events(db, case)
    assert actions[:3] == ["submit", "accept", "issue_verification"]
    assert actions.count("order_relay") == 2 and actions[-2:] == ["rate", "follow_up_online"]


@time_machine.travel(START, tick=False)
def test_unsatisfied_rating_starts_a_new_round(world, db):
    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
    off = world.user("officer", "4141000001")
    ops.sign_order(off, order)
    ops.report_order(off, order, text="投诉不属实", verdict=Verdict.UNTRUE)
    ops.accept_report(sup, order)
    ops.close_case(sup, case, "经核实，投诉不属实。")
    db.session.commit()
    with pytest.raises(InvalidInput):
        ops.rate_case(case, Rating.UNSATISFIED, "")
    db.session.rollback()
    ops.rate_case(case, Rating.UNSATISFIED, "学校说法不对")
    db.session.commit()
    assert case.state is CaseState.REGISTERED and case.round == 2
    assert case.responsible_unit.code == "410105"
    assert case.rating is None and case.closed_at is None
    (again,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
    assert again.round == 2


def test_return_extension_send_back_and_reject(world, db):
    case, _ = submit(db, schools=("4141000001", "4141000003"))
    sup = world.user("supervisor", "410100")
    ops.accept_case(sup, case)
    db.session.commit()
    with pytest.raises(InvalidInput):  # Luoyang is not a child of Zhengzhou
        ops.issue_verification(sup, case, [world.unit("410303")])
    db.session.rollback()
    wrong, right = ops.issue_verification(sup, case, [world.unit("410103"), world.unit("410105")])
    db.session.commit()
    erqi = world.user("officer", "410103")
    ops.return_order(erqi, wrong, "该生不在本区学校就读")
    db.session.commit()
    assert wrong.state is OrderState.RETURN_PENDING and wrong.return_reason
    with pytest.raises(NotAllowed):  # the receiver cannot decide its own return
        ops.confirm_return(erqi, wrong)
    db.session.rollback()
    ops.confirm_return(sup, wrong, "确非二七区职责")
    db.session.commit()
    assert wrong.state is OrderState.RETURNED and wrong.returned_at is not None

    county = world.user("officer", "410105")
    ops.sign_order(county, right)
    ext = ops.request_extension(county, right, date.fromordinal(right.due_on.toordinal() + 7), "需到校现场核查")
    db.session.commit()
    with pytest.raises(NotAllowed):
        ops.decide_extension(county, ext, True)
    db.session.rollback()
    ops.decide_extension(sup, ext, False, "时限内完成")
    db.session.commit()
    assert right.due_on == ext.previous_due_on
    ext2 = ops.request_extension(county, right, ext.requested_due_on, "确需延期")
    ops.decide_extension(sup, ext2, True)
    db.session.commit()
    assert right.due_on == ext2.requested_due_on

    ops.report_order(county, right, text="初步核实", verdict=Verdict.PARTLY_TRUE)
    ops.send_back(sup, right, "请补充学校说明")
    db.session.commit()
    assert right.state is OrderState.SIGNED and right.completed_on_time is None
    ops.report_order(county, right, text="补充：学校承认漏报", verdict=Verdict.TRUE)
    ops.accept_report(sup, right)
    db.session.commit()
    # The returned order does not hold the case back.
    assert case.state is CaseState.DECIDING

    other, _ = submit(db)
    county_sup = world.user("supervisor", "410105")
    with pytest.raises(InvalidInput):
        ops.reject_case(county_sup, other, "  ")
    db.session.rollback()
    ops.reject_case(county_sup, other, "不属于学籍管理问题，请向当地人社部门反映。")
    db.session.commit()
    assert other.state is CaseState.REJECTED


def test_only_the_right_people_may_act(world, db):
    case, _ = submit(db)
    for user in (world.user("supervisor", "410103"), world.user("officer", "410105"),
                 world.user("supervisor", "410100")):
        with pytest.raises(NotAllowed):
            ops.accept_case(user, case)
        db.session.rollback()
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
    db.session.commit()
    with pytest.raises(NotAllowed):
        ops.sign_order(world.user("officer", "4141000002"), order)
    db.session.rollback()
    with pytest.raises(NotAllowed):  # a school cannot relay further down
        ops.relay_order(world.user("officer", "4141000001"), order, world.unit("4141000001"))
    db.session.rollback()


def test_illegal_transition_changes_nothing(world, db):
    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    before = _events(db, case)
    with pytest.raises(IllegalTransition):
        ops.close_case(sup, case, "直接办结")
    db.session.rollback()
    db.session.refresh(case)
    assert case.state is CaseState.SUBMITTED
    assert _events(db, case) == before


def test_transfer_and_referral(world, db):
    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    ops.transfer_case(sup, case, world.unit("410100"), "涉及市直学校，请市局处理")
    db.session.commit()
    assert case.responsible_unit.code == "410100" and case.state is CaseState.SUBMITTED
    with pytest.raises(NotAllowed):
        ops.accept_case(sup, case)
    db.session.rollback()

    cross, _ = submit(db, schools=("4141000001", "1341000001"))
    assert cross.responsible_unit.code == "410000"
    assert "教育部" in cross.routing_note
    ops.refer_case(world.user("supervisor", "410000"), cross, "涉及河北省学校，已上报教育部协调。")
    db.session.commit()
    assert cross.state is CaseState.REFERRED


def test_transfers_go_one_level_up_or_down_and_restart_the_clock(world, db):
    from caseflow.deadlines import policy
    from caseflow.deadlines.settings import current_rules
    from caseflow.timeutil import local_today

    case, _ = submit(db)  # 金水区 (county) is responsible
    county = world.user("supervisor", "410105")
    for target in ("410000", "000000", "410303"):  # two levels up, the Ministry, another city's district
        with pytest.raises(InvalidInput):
            ops.transfer_case(county, case, world.unit(target), "转办。")
        db.session.rollback()
    case.action_due_on = local_today().replace(year=local_today().year - 1)
    db.session.commit()
    ops.transfer_case(county, case, world.unit("410100"), "涉及市直学校。")
    db.session.commit()
    assert case.responsible_unit.code == "410100"
    assert case.action_due_on == policy.registered_action_due(current_rules(), local_today()).on
    city = world.user("supervisor", "410100")
    with pytest.raises(InvalidInput, match="逐级"):
        ops.transfer_case(city, case, world.unit("410303"), "转办。")
    db.session.rollback()
    ops.transfer_case(city, case, world.unit("410103"), "由二七区办理。")  # one level down
    db.session.commit()
    assert case.responsible_unit.code == "410103"
