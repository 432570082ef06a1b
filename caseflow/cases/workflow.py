"""The state machines of a case and of an order, as data.

Every legal move is one row below; anything else raises ``IllegalTransition``.
Who may make a move is decided in ``caseflow.cases.permissions``; what else a
move does (deadlines, events, notifications) in ``caseflow.cases.operations``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from caseflow.errors import IllegalTransition
from caseflow.models.enums import CaseState as C
from caseflow.models.enums import FollowUpState as F
from caseflow.models.enums import OrderState as O

S = TypeVar("S", C, O, F)


@dataclass(frozen=True)
class Move(Generic[S]):
    sources: frozenset[S]
    target: S
    label: str  # Chinese, for the timeline and error messages
    public: str | None = None  # what the complainant's tracking page says, if anything


def _m(sources: Iterable[S], target: S, label: str, public: str | None = None) -> Move[S]:
    return Move(frozenset(sources), target, label, public)


OPEN_CASE = (C.SUBMITTED, C.REGISTERED)
UNFINISHED_CASE = tuple(s for s in C if s not in C.FINISHED)  # the complainant may still act on it

CASE_MOVES: dict[str, Move[C]] = {
    "submit":             _m((), C.SUBMITTED, "提交投诉", "投诉已提交，等待受理"),
    "register":           _m((), C.REGISTERED, "登记受理", "投诉已登记受理"),
    "accept":             _m((C.SUBMITTED,), C.REGISTERED, "受理", "投诉已受理"),
    "reject":             _m((C.SUBMITTED, C.REGISTERED), C.REJECTED, "不予受理", "不予受理"),
    "transfer":           _m(OPEN_CASE, C.SUBMITTED, "转办", "已转至有管辖权的单位办理"),
    "refer_up":           _m(OPEN_CASE, C.REFERRED, "上报上级", "已上报上级教育行政部门处理"),
    "issue_verification": _m((C.REGISTERED, C.VERIFYING, C.DECIDING), C.VERIFYING, "下发核查单",
                             "已向有关单位下发核查单，正在核实"),
    "findings_complete":  _m((C.VERIFYING,), C.DECIDING, "核查情况已全部报回", "核查完毕，正在研究处理意见"),
    "issue_supervision":  _m((C.DECIDING, C.HANDLING), C.HANDLING, "下发督办单", "已下发督办单，责成有关单位办理"),
    "results_complete":   _m((C.HANDLING,), C.CONCLUDING, "办理情况已审核通过", "办理完毕，等待办结"),
    "close":              _m((C.DECIDING, C.CONCLUDING), C.CLOSED, "办结并答复投诉人", "已办结"),
    "rate":               _m((C.CLOSED,), C.CLOSED, "投诉人评价", "您已评价"),
    "reopen":             _m((C.CLOSED,), C.REGISTERED, "投诉人不满意，重新办理", "您对结果不满意，已重新办理"),
    # 撤诉: the complainant withdraws at any step before the case is finished (caseflow.cases.citizen_actions).
    "withdraw":           _m(UNFINISHED_CASE, C.WITHDRAWN, "投诉人撤诉", "您已撤回投诉，办理结束"),
    # 并单: a repeat complaint is handled within an earlier case about the same student (its primary).
    "merge":              _m(UNFINISHED_CASE, C.MERGED, "并案办理",
                             "您的投诉与此前另一件投诉反映同一问题，已合并办理"),
    # 撤销并单 restores the state the case had before merging (``Case.state_before_merge``); the target
    # below is only the fallback for a case that has none recorded.
    "unmerge":            _m((C.MERGED,), C.REGISTERED, "撤销并单", "已撤销合并，您的投诉单独办理"),
}

ORDER_MOVES: dict[str, Move[O]] = {
    "issue":          _m((), O.SENT, "下发"),
    "sign":           _m((O.SENT,), O.SIGNED, "签收"),
    # A return (退单) is a request: the issuing unit (or, when disputed, the unit above it) reviews it.
    "return":         _m((O.SENT, O.SIGNED), O.RETURN_PENDING, "申请退回（非本单位）"),
    "confirm_return": _m((O.RETURN_PENDING,), O.RETURNED, "同意退回"),
    # A refused return puts the order back where it was: signed for, or still to be signed for.
    "refuse_return":  _m((O.RETURN_PENDING,), O.SIGNED, "不同意退回"),
    "refuse_return_unsigned": _m((O.RETURN_PENDING,), O.SENT, "不同意退回"),
    "refer_return":   _m((O.RETURN_PENDING,), O.RETURN_PENDING, "提请上级裁定退回争议"),
    # 中止计时: an approved pause stops the clock; resuming restarts it (the deadline moves by the pause).
    # A relayed hop may be paused too (its receiver waits with its own issuer's approval); it resumes relayed.
    "pause":          _m((O.SIGNED, O.RELAYED), O.PAUSED, "中止计时"),
    "resume":         _m((O.PAUSED,), O.SIGNED, "恢复计时"),
    "resume_relayed": _m((O.PAUSED,), O.RELAYED, "恢复计时"),
    "relay":          _m((O.SIGNED,), O.RELAYED, "转下级办理"),
    "child_returned": _m((O.RELAYED,), O.SIGNED, "下级退回"),
    "report":         _m((O.SIGNED, O.RELAYED), O.REPORTED, "报送"),
    "accept":         _m((O.REPORTED,), O.ACCEPTED, "审核通过"),
    "send_back":      _m((O.REPORTED,), O.SIGNED, "退回重办"),
    "cancel":         _m(O.OPEN, O.CANCELLED, "撤销"),
}


# A closed round's follow-up (回访): an online rating in time drops the call; a call ends it, or too many
# unanswered calls make it invalid (not counted in the rates).
FOLLOW_UP_MOVES: dict[str, Move[F]] = {
    "open":           _m((), F.PENDING, "生成回访任务"),
    "rated_online":   _m((F.PENDING,), F.ONLINE, "投诉人已在线评价，无需电话回访"),
    "call_unreached": _m((F.PENDING,), F.PENDING, "回访电话未接通"),
    "call_invalid":   _m((F.PENDING,), F.INVALID, "多次未接通，回访无效"),
    "call":           _m((F.PENDING,), F.CALLED, "电话回访"),
}


def _check(moves: dict[str, Move[S]], action: str, state: S | None, what: str) -> Move[S]:
    move = moves.get(action)
    if move is None:
        raise IllegalTransition(f"未知操作：{action}")
    if move.sources and state not in move.sources:
        now = f"当前状态为“{state.label}”，" if state is not None else ""
        raise IllegalTransition(f"{what}{now}不能执行“{move.label}”。")
    return move


def case_move(action: str, state: C | None) -> Move[C]:
    """The move for ``action`` from ``state``, or ``IllegalTransition``."""
    return _check(CASE_MOVES, action, state, "投诉")


def order_move(action: str, state: O | None) -> Move[O]:
    """The move for ``action`` from ``state``, or ``IllegalTransition``."""
    return _check(ORDER_MOVES, action, state, "该单")


def follow_up_move(action: str, state: F | None) -> Move[F]:
    """The move for ``action`` from ``state``, or ``IllegalTransition``."""
    return _check(FOLLOW_UP_MOVES, action, state, "该回访任务")
