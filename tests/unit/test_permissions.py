"""The permission rules: every action against every state and every kind of user, without a database."""
import itertools

import pytest

from caseflow.cases import permissions
from caseflow.cases.permissions import CASE_RULES, ORDER_RULES, allowed_actions, can, check
from caseflow.cases.workflow import CASE_MOVES, ORDER_MOVES
from caseflow.errors import IllegalTransition, NotAllowed
from caseflow.models import Case, CaseState, Order, OrderState, Role, Unit, UnitKind, User

COUNTY, SCHOOL, OTHER = 1, 2, 3


def _user(role: Role, unit_id: int) -> User:
    return User(role=role, unit_id=unit_id)


def _case(state: CaseState) -> Case:
    return Case(state=state, responsible_unit_id=COUNTY)


def _order(state: OrderState, *, receiver_kind: UnitKind = UnitKind.SCHOOL, relay_hop: bool = False) -> Order:
    receiver = Unit(id=SCHOOL, kind=receiver_kind)
    order = Order(state=state, issuing_unit_id=COUNTY, receiving_unit_id=SCHOOL, receiving_unit=receiver)
    if relay_hop:
        order.parent_id = 99
    return order


MANAGER = _user(Role.SUPERVISOR, COUNTY)
NOT_MANAGERS = [_user(Role.OFFICER, COUNTY), _user(Role.INTAKE, COUNTY), _user(Role.SUPERVISOR, OTHER),
                _user(Role.ADMIN, COUNTY)]
# transfer also waits for open orders; merge also needs a recorded match (tests/integration/test_repeats.py)
PLAIN_CASE_MOVES = [a for a in CASE_RULES if a in CASE_MOVES and a not in ("transfer", "merge")]


@pytest.mark.parametrize(("action", "state"), list(itertools.product(PLAIN_CASE_MOVES, CaseState)))
def test_case_moves_follow_the_workflow_table(action, state):
    case = _case(state)
    assert can(MANAGER, action, case) is (state in CASE_MOVES[action].sources)
    assert can(MANAGER, action, case, check_state=False)
    for user in NOT_MANAGERS:
        assert not can(user, action, case, check_state=False)
        with pytest.raises(NotAllowed):
            check(user, action, case)


def test_transfer_waits_for_open_orders():
    case = _case(CaseState.REGISTERED)
    assert can(MANAGER, "transfer", case)
    case.orders = [Order(state=OrderState.SIGNED)]
    with pytest.raises(IllegalTransition, match="未办结的单据"):
        check(MANAGER, "transfer", case)
    assert can(MANAGER, "transfer", case, check_state=False)


@pytest.mark.parametrize("state", list(CaseState))
def test_case_roles_attach_until_closed(state):
    for role in (Role.INTAKE, Role.OFFICER, Role.SUPERVISOR):
        assert can(_user(role, OTHER), "attach", _case(state)) is (state is not CaseState.CLOSED)
    assert not can(_user(Role.ADMIN, COUNTY), "attach", _case(state), check_state=False)


RECEIVER = _user(Role.OFFICER, SCHOOL)
REVIEWER = _user(Role.SUPERVISOR, COUNTY)
RECEIVER_MOVES = ["sign", "return"]


@pytest.mark.parametrize(("action", "state"), list(itertools.product(RECEIVER_MOVES, OrderState)))
def test_receiver_moves_follow_the_workflow_table(action, state):
    order = _order(state)
    assert can(RECEIVER, action, order) is (state in ORDER_MOVES[action].sources)
    for user in (REVIEWER, _user(Role.INTAKE, SCHOOL), _user(Role.OFFICER, OTHER)):
        assert not can(user, action, order, check_state=False)


@pytest.mark.parametrize("state", list(OrderState))
def test_relay_only_by_a_bureau(state):
    assert not can(RECEIVER, "relay", _order(state), check_state=False)  # a school has no units below
    bureau = _order(state, receiver_kind=UnitKind.COUNTY)
    assert can(RECEIVER, "relay", bureau) is (state in ORDER_MOVES["relay"].sources)


def test_report_after_relay_waits_for_the_hop_below():
    order = _order(OrderState.RELAYED, receiver_kind=UnitKind.COUNTY)
    child = Order(state=OrderState.SIGNED)
    order.children = [child]
    with pytest.raises(IllegalTransition, match="下级单位尚未报送"):
        check(RECEIVER, "report", order)
    assert "relay" not in allowed_actions(RECEIVER, order)  # already relayed
    child.state = OrderState.REPORTED
    assert can(RECEIVER, "report", order)


@pytest.mark.parametrize("state", list(OrderState))
def test_review_of_a_root_order(state):
    order = _order(state)
    assert can(REVIEWER, "accept", order) is (state is OrderState.REPORTED)
    assert can(REVIEWER, "send_back", order) is (state is OrderState.REPORTED)
    assert not can(_user(Role.OFFICER, COUNTY), "accept", order, check_state=False)  # root: supervisor only


def test_a_relay_hop_is_accepted_by_reporting_it_up():
    hop = _order(OrderState.REPORTED, relay_hop=True)
    officer = _user(Role.OFFICER, COUNTY)
    assert allowed_actions(officer, hop) - {"see_contacts"} == {"send_back", "cite_rule"}  # the reviewer may cite rules
    with pytest.raises(IllegalTransition):
        check(officer, "accept", hop)


def test_extensions_one_at_a_time():
    from caseflow.models import ExtensionRequest, ExtensionState

    order = _order(OrderState.SIGNED)
    assert can(RECEIVER, "request_extension", order)
    assert not can(REVIEWER, "decide_extension", order)
    order.extensions = [ExtensionRequest(state=ExtensionState.PENDING)]
    assert not can(RECEIVER, "request_extension", order)
    assert can(REVIEWER, "decide_extension", order)
    assert permissions.pending_extension(order) is order.extensions[0]
    assert not can(RECEIVER, "request_extension", _order(OrderState.REPORTED))


def test_user_level_rules():
    assert can(_user(Role.INTAKE, OTHER), "reveal") and not can(_user(Role.ADMIN, OTHER), "reveal")
    assert can(_user(Role.OFFICER, OTHER), "look_up_registry") and not can(_user(Role.INTAKE, OTHER),
                                                                          "look_up_registry")
    assert can(_user(Role.INTAKE, OTHER), "register_complaint") and not can(_user(Role.OFFICER, OTHER),
                                                                            "register_complaint")
    with pytest.raises(NotAllowed, match="打印"):
        check(_user(Role.ADMIN, OTHER), "reveal", denied="您的角色不能打印含完整个人信息的单据。")


def test_unknown_actions_are_a_programming_error():
    with pytest.raises(ValueError):
        can(MANAGER, "refer", _case(CaseState.REGISTERED))  # the old alias of refer_up is gone
    with pytest.raises(ValueError):
        can(RECEIVER, "extend", _order(OrderState.SIGNED))


def test_every_rule_name_is_a_move_or_a_known_extra():
    extras = {"attach", "request_extension", "decide_extension", "reveal_complainant", "reveal_student",
              "see_contacts", "legal_hold", "cite_rule", "supervise", "escalate_up", "remind", "link_related",
              "request_pause", "decide_pause", "review_return"}
    assert set(CASE_RULES) - extras <= set(CASE_MOVES)
    assert set(ORDER_RULES) - extras <= set(ORDER_MOVES)


def test_reveal_belongs_to_the_responsible_bureau_not_the_school_nor_a_unit_that_returned():
    """Issue 20 item 4."""
    case = _case(CaseState.VERIFYING)
    case.schools = [Unit(id=SCHOOL, kind=UnitKind.SCHOOL)]
    order = Order(state=OrderState.SIGNED, receiving_unit_id=SCHOOL)
    case.orders = [order]
    for role in (Role.INTAKE, Role.OFFICER, Role.SUPERVISOR):
        assert can(_user(role, COUNTY), "reveal_complainant", case) and can(_user(role, COUNTY), "reveal_student", case)
        assert not can(_user(role, SCHOOL), "reveal_complainant", case)
        assert can(_user(role, SCHOOL), "reveal_student", case)
        assert not can(_user(role, OTHER), "reveal_complainant", case)
        assert not can(_user(role, OTHER), "reveal_student", case)
    assert not can(_user(Role.ADMIN, COUNTY), "reveal_complainant", case)
    order.state = OrderState.RETURNED
    for role in (Role.INTAKE, Role.OFFICER, Role.SUPERVISOR):
        assert not can(_user(role, SCHOOL), "reveal_student", case)
        with pytest.raises(NotAllowed):
            check(_user(role, SCHOOL), "reveal_complainant", case)


@pytest.mark.parametrize("state", list(CaseState))
def test_the_complainant_adds_material_and_withdraws_until_the_case_is_finished(state):
    case = _case(state)
    unfinished = state not in CaseState.FINISHED
    assert permissions.complainant_can("add_material", case) is unfinished
    assert permissions.complainant_can("withdraw", case) is unfinished
    assert permissions.complainant_can("choose_notice", case)
    if not unfinished:
        with pytest.raises(IllegalTransition, match=state.label):
            permissions.complainant_check("add_material", case)
    with pytest.raises(ValueError):
        permissions.complainant_check("reopen_myself", case)


def test_only_bureau_workers_reach_the_follow_up_calls(world):
    """Only a bureau is ever responsible for a case, so a school's staff have no 回访 page."""
    assert permissions.can(world.user("officer", "410105"), "follow_up")
    assert permissions.can(world.user("supervisor", "410105"), "follow_up")
    assert not permissions.can(world.user("officer", "4141000001"), "follow_up")
    assert not permissions.can(world.user("intake", "410105"), "follow_up")
