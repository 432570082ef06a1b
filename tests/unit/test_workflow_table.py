"""The state machines: every move not in the table is refused."""
import itertools

import pytest

from caseflow.cases.workflow import (
    CASE_MOVES,
    FOLLOW_UP_MOVES,
    ORDER_MOVES,
    case_move,
    follow_up_move,
    order_move,
)
from caseflow.errors import IllegalTransition
from caseflow.models import CaseState, FollowUpState, OrderState


@pytest.mark.parametrize(("action", "state"), list(itertools.product(CASE_MOVES, CaseState)))
def test_case_moves(action, state):
    move = CASE_MOVES[action]
    if not move.sources:  # creation moves have no source state
        return
    if state in move.sources:
        assert case_move(action, state).target is move.target
    else:
        with pytest.raises(IllegalTransition) as exc:
            case_move(action, state)
        assert state.label in exc.value.message


@pytest.mark.parametrize(("action", "state"), list(itertools.product(ORDER_MOVES, OrderState)))
def test_order_moves(action, state):
    move = ORDER_MOVES[action]
    if not move.sources:
        return
    if state in move.sources:
        assert order_move(action, state).target is move.target
    else:
        with pytest.raises(IllegalTransition):
            order_move(action, state)


def test_terminal_states_have_no_way_out():
    for state in (CaseState.REJECTED, CaseState.REFERRED, CaseState.WITHDRAWN):
        assert not any(state in m.sources for m in CASE_MOVES.values())
    for state in (OrderState.ACCEPTED, OrderState.RETURNED, OrderState.CANCELLED):
        assert not any(state in m.sources for m in ORDER_MOVES.values())


def test_unknown_action():
    with pytest.raises(IllegalTransition):
        case_move("teleport", CaseState.SUBMITTED)


@pytest.mark.parametrize(("action", "state"), list(itertools.product(FOLLOW_UP_MOVES, FollowUpState)))
def test_follow_up_moves(action, state):
    move = FOLLOW_UP_MOVES[action]
    if not move.sources:
        return
    if state in move.sources:
        assert follow_up_move(action, state).target is move.target
    else:
        with pytest.raises(IllegalTransition):
            follow_up_move(action, state)


def test_an_ended_follow_up_has_no_way_out():
    for state in FollowUpState.VALID + (FollowUpState.INVALID,):
        assert not any(state in m.sources for m in FOLLOW_UP_MOVES.values())
