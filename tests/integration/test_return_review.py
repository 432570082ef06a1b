"""Return review (退单审核) through the operations: who decides, re-dispatching a relayed hop, cancelling."""
import pytest

from caseflow.cases import operations as ops
from caseflow.cases import permissions
from caseflow.errors import IllegalTransition, InvalidInput, NotAllowed
from caseflow.models import CaseState, OrderState, PauseReason
from tests.factories import submit


def _relayed(world, db):
    """City 410100 -> county 410105 (signed, relayed) -> school 4141000001 (returned, pending review)."""
    case, _ = submit(db, schools=("4141000001", "4141000003"))  # two districts: the city is responsible
    city, county = world.user("supervisor", "410100"), world.user("officer", "410105")
    ops.accept_case(city, case)
    (root,) = ops.issue_verification(city, case, [world.unit("410105")])
    ops.sign_order(county, root)
    child = ops.relay_order(county, root, world.unit("4141000001"))
    ops.return_order(world.user("officer", "4141000001"), child, "该生已转学至第二小学")
    db.session.commit()
    return case, root, child


def test_a_confirmed_return_of_a_relayed_hop_redispatches_below_the_same_hop(world, db):
    case, root, child = _relayed(world, db)
    county = world.user("officer", "410105")  # a relay hop is reviewed by the county's officers too
    assert root.state is OrderState.RELAYED and child.state is OrderState.RETURN_PENDING
    assert permissions.allowed_actions(county, child) >= {"review_return", "refer_return"}
    with pytest.raises(InvalidInput) as same:  # not back to the unit that returned it
        ops.confirm_return(county, child, None, world.unit("4141000001"))
    assert same.value.field == "unit"
    db.session.rollback()
    with pytest.raises(InvalidInput):  # only one level down from the issuer
        ops.confirm_return(county, child, None, world.unit("4141000003"))
    db.session.rollback()
    new = ops.confirm_return(county, child, "已转学", world.unit("4141000002"))
    db.session.commit()
    assert child.state is OrderState.RETURNED and new is not None
    assert new.parent_id == root.id and new.state is OrderState.SENT and new.receiving_unit.code == "4141000002"
    assert root.state is OrderState.RELAYED and root.active_child is new
    assert case.state is CaseState.VERIFYING


def test_who_may_decide_a_return(world, db):
    _case, _root, child = _relayed(world, db)
    school, city = world.user("officer", "4141000001"), world.user("supervisor", "410100")
    for user in (school, city):  # neither the receiver nor (before a dispute) the level above
        with pytest.raises(NotAllowed):
            ops.refuse_return(user, child, "不同意")
        db.session.rollback()
    ops.refer_return(world.user("officer", "410105"), child, "职责有争议")
    db.session.commit()
    with pytest.raises(IllegalTransition):  # once
        ops.refer_return(world.user("officer", "410105"), child, "再次提请")
    db.session.rollback()
    with pytest.raises(NotAllowed):  # the county no longer decides
        ops.refuse_return(world.user("officer", "410105"), child, "不同意")
    db.session.rollback()
    ops.refuse_return(city, child, "学籍仍在第一小学")
    db.session.commit()
    assert child.state is OrderState.SENT and child.return_decision == "学籍仍在第一小学"


def test_paused_and_pending_orders_are_open_and_may_be_cancelled_but_are_not_worked():
    from caseflow.cases.workflow import order_move

    for state in (OrderState.PAUSED, OrderState.RETURN_PENDING):
        assert state in OrderState.OPEN and state not in OrderState.WORKING
        assert order_move("cancel", state).target is OrderState.CANCELLED
        with pytest.raises(IllegalTransition):
            order_move("report", state)


def test_a_relayed_hop_is_paused_with_its_own_issuer_and_resumes_relayed(world, db):
    _case, root, child = _relayed(world, db)
    county, city = world.user("officer", "410105"), world.user("supervisor", "410100")
    pause = ops.request_pause(county, root, PauseReason.AWAITING_COMPLAINANT)
    ops.decide_pause(city, pause, True)
    db.session.commit()
    assert root.state is OrderState.PAUSED
    # Confirming the school's return restarts the paused hop above, then hands it back to the county.
    ops.confirm_return(county, child, "确已转学")
    db.session.commit()
    assert pause.ended_at is not None and root.state is OrderState.SIGNED and child.state is OrderState.RETURNED
    new = ops.relay_order(county, root, world.unit("4141000002"))
    pause2 = ops.request_pause(county, root, PauseReason.OTHER_AUTHORITY)
    ops.decide_pause(city, pause2, True)
    db.session.commit()
    ops.resume_order(city, root)
    db.session.commit()
    assert root.state is OrderState.RELAYED and root.active_child is new
