"""Who may do what, and whether it can be done now: one rule per action, asked by everyone.

Views and templates ask ``can`` / ``allowed_actions`` to decide which forms and
links to show; operations call ``check`` before they change anything, so a
button and the operation behind it can never disagree.  Each rule has two
halves, in the shape of Indico's ``can_judge(user, check_state=True)``:

- the *right*: the user's role and unit may take this action on this object
  (refused with ``NotAllowed``, 403);
- the *state*: the object's state allows the action now (refused with
  ``IllegalTransition``, 409).  ``check_state=False`` asks only for the right.

Action names are the workflow's move names (``refer_up``, ``issue_verification``,
``sign``, ``send_back``…) plus a few that are not moves (``attach``,
``request_extension``, ``decide_extension``, ``reveal``…).  A case and an order
each have their own set; the object passed says which.  Whether the user may
*see* the object is decided before, in ``caseflow.cases.access``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from caseflow.cases import repeats
from caseflow.cases.access import CASE_ROLES
from caseflow.cases.workflow import case_move, order_move
from caseflow.deadlines import status
from caseflow.errors import IllegalTransition, NotAllowed
from caseflow.models import (
    Case,
    CaseState,
    ExtensionRequest,
    ExtensionState,
    FollowUp,
    FollowUpState,
    Order,
    OrderPause,
    OrderState,
    Role,
    User,
)
from caseflow.timeutil import local_today

REVEAL_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.INTAKE)
WORKER_ROLES = (Role.OFFICER, Role.SUPERVISOR)


@dataclass(frozen=True)
class Rule:
    """One action: who holds the right, the message when they do not, and the state it needs."""

    right: Callable[[User, Any], bool]
    denied: str
    state: Callable[[Any], None] | None = None  # raises IllegalTransition when not possible now


# --- the rights ----------------------------------------------------------------------------------

def manages(user: User, case: Case) -> bool:
    """The responsible unit's supervisor decides everything about the case."""
    return user.role is Role.SUPERVISOR and user.unit_id == case.responsible_unit_id


def receives(user: User, order: Order) -> bool:
    """Officers (and the supervisor) of the receiving unit work the order."""
    return user.role in WORKER_ROLES and user.unit_id == order.receiving_unit_id


def reviews(user: User, order: Any) -> Any:
    """The issuing unit reviews a report: its supervisor, or for a relay hop its officers too.

    ``order`` is an order (a bool comes back) or the ``Order`` class (a SQL condition, for the inbox).
    """
    issued_here = order.issuing_unit_id == user.unit_id
    if user.role is Role.SUPERVISOR:
        return issued_here
    if user.role is Role.OFFICER:
        return issued_here & (order.parent_id != None)  # noqa: E711 - SQL too
    return False


def decides_return(user: User, order: Order) -> bool:
    """A pending return is decided by the unit that issued the order, as a report is (``reviews``); once
    the issuer has passed the dispute up (上级裁定), by the supervisor of the unit above it."""
    reviewer = order.return_reviewer_id
    if reviewer is None or reviewer == order.issuing_unit_id:
        return bool(reviews(user, order))
    return user.role is Role.SUPERVISOR and user.unit_id == reviewer


def _returned(user: User, case: Case) -> bool:
    """The user's unit sent an order of this case back as not theirs, and holds no other order of it."""
    mine = [o for o in case.orders if o.receiving_unit_id == user.unit_id]
    return bool(mine) and all(o.state is OrderState.RETURNED for o in mine)


def reveals_complainant(user: User, case: Case) -> bool:
    """The complainant's full data (and free text that may hold it) belongs to the responsible bureau.

    Never to a unit the complaint is about (retaliation), nor to one that returned its order.
    """
    return (user.role in REVEAL_ROLES and user.unit_id == case.responsible_unit_id
            and all(s.id != user.unit_id for s in case.schools) and not _returned(user, case))


def reveals_student(user: User, case: Case) -> bool:
    """The student's full data: the responsible bureau, and units working an order of the case."""
    if user.role not in REVEAL_ROLES or _returned(user, case):
        return False
    return user.unit_id == case.responsible_unit_id or any(
        o.receiving_unit_id == user.unit_id for o in case.orders)


def oversees(user: User, case: Case) -> bool:
    """A supervisor of a unit above the responsible unit (its 督办单位, at any level up) supervises the case."""
    return (user.role is Role.SUPERVISOR and user.unit_id != case.responsible_unit_id
            and case.responsible_unit.is_within(user.unit))


def may_escalate(user: User, case: Case) -> bool:
    """The responsible unit, or a unit supervising it, may ask the level above it to supervise."""
    return (manages(user, case) or oversees(user, case)) and user.unit.parent_id is not None


def chases(user: User, order: Order) -> bool:
    """A supervisor of a unit above the receiving unit: may chase (催办) it."""
    receiver = order.receiving_unit
    return (user.role is Role.SUPERVISOR and receiver.id != user.unit_id and user.unit is not None
            and receiver.is_within(user.unit))


def follows_up(user: User, task: FollowUp) -> bool:
    """Officers (and the supervisor) of the unit that closed the case call the complainant back."""
    return user.role in WORKER_ROLES and user.unit_id == task.unit_id


def _roles(*roles: Role) -> Callable[[User, Any], bool]:
    def allowed(user: User, _obj: Any = None) -> bool:
        return user.role in roles

    return allowed


def _bureau_worker(user: User, _obj: Any = None) -> bool:
    """An officer or supervisor of a bureau: only a bureau is ever responsible for a case (and owes its 回访)."""
    return user.role in WORKER_ROLES and user.unit is not None and not user.unit.is_school


# --- the states ----------------------------------------------------------------------------------

def pending_extension(order: Order) -> ExtensionRequest | None:
    """The extension request of ``order`` still waiting for the issuer's decision, if any."""
    return next((e for e in order.extensions if e.state is ExtensionState.PENDING), None)


def pending_pause(order: Order) -> OrderPause | None:
    """The clock-pause request of ``order`` still waiting for the issuer's decision, if any."""
    return next((p for p in order.pauses if p.state is ExtensionState.PENDING), None)


def running_pause(order: Order) -> OrderPause | None:
    """The approved pause that stops the order's clock now, if any."""
    return next((p for p in order.pauses if p.running), None) if order.state is OrderState.PAUSED else None


def _case_move(action: str) -> Callable[[Case], None]:
    """The state half of a plain case move: the workflow table allows it from the case's state."""

    def state(case: Case) -> None:
        case_move(action, case.state)

    return state


def _order_move(action: str) -> Callable[[Order], None]:
    """The state half of a plain order move."""

    def state(order: Order) -> None:
        order_move(action, order.state)

    return state


def _unfinished_state(case: Case) -> None:
    if case.state in CaseState.FINISHED:
        raise IllegalTransition("该投诉已办结，无需督办。")


def _transfer_state(case: Case) -> None:
    case_move("transfer", case.state)
    if any(o.is_open for o in case.orders):
        raise IllegalTransition("该投诉已有未办结的单据，不能转办。")


def _case_attach_state(case: Case) -> None:
    if case.state is CaseState.CLOSED:
        raise IllegalTransition("该投诉已办结，不能再上传附件。")


def _hold_state(case: Case) -> None:
    if case.anonymised_at is not None:
        raise IllegalTransition("该投诉已按保存期限匿名化，无法再设置法律保留。")


def _merge_state(case: Case) -> None:
    case_move("merge", case.state)
    if not repeats.matches_of(case):
        raise IllegalTransition("没有发现可能重复的投诉，无需并单。")


def _link_state(case: Case) -> None:
    if case.state is CaseState.MERGED:
        raise IllegalTransition("该投诉已并案办理，不能再关联。")
    if not any(not m.linked for m in repeats.matches_of(case)):
        raise IllegalTransition("没有可关联的投诉。")


def _relay_state(order: Order) -> None:
    if order.active_child is not None:
        raise IllegalTransition("该单已转下级办理，不能重复转办。")
    order_move("relay", order.state)


def _report_state(order: Order) -> None:
    if order.state is OrderState.RELAYED:
        child = order.active_child
        if child is None or child.state is not OrderState.REPORTED:
            raise IllegalTransition("下级单位尚未报送，不能向上报送。")
    order_move("report", order.state)


def _accept_state(order: Order) -> None:
    order_move("accept", order.state)
    if order.parent_id is not None:
        # A relay hop's report is accepted by reporting it up (report_order); accepting it on
        # its own would leave the parent hop without a report to pass on.
        raise IllegalTransition("下级的报送在上一级单中向上报送即视为审核通过。")


def _extension_state(order: Order) -> None:
    if not status.completion_running(order):
        raise IllegalTransition("该单已报送或已结束，不能申请延期。")
    if pending_extension(order) is not None:
        raise IllegalTransition("已有待审批的延期申请。")


def _decide_state(order: Order) -> None:
    if pending_extension(order) is None:
        raise IllegalTransition("该延期申请已处理。")


def _pause_request_state(order: Order) -> None:
    order_move("pause", order.state)  # signed for (or relayed) and not finished
    if pending_pause(order) is not None:
        raise IllegalTransition("已有待审批的中止计时申请。")


def _decide_pause_state(order: Order) -> None:
    if pending_pause(order) is None:
        raise IllegalTransition("该中止计时申请已处理。")


def _refer_return_state(order: Order) -> None:
    order_move("refer_return", order.state)
    if order.return_reviewer_id not in (None, order.issuing_unit_id):
        raise IllegalTransition("该退回争议已提请上级裁定。")
    if order.issuing_unit.parent_id is None:
        raise IllegalTransition("下发单位没有上级单位，请直接审核该退回申请。")


def _remind_state(order: Order) -> None:
    if not status.completion_running(order):
        raise IllegalTransition(f"该单当前状态为“{order.state.label}”，无需催办。")


def _order_attach_state(order: Order) -> None:
    if not order.is_open:
        raise IllegalTransition("该单已结束，不能再上传附件。")


def _call_state(task: FollowUp) -> None:
    if task.state is not FollowUpState.PENDING:
        raise IllegalTransition(f"该回访任务当前状态为“{task.state.label}”，无需再回访。")
    if not status.follow_up_call_owed(task, local_today()):
        raise IllegalTransition("投诉人在线评价的期限尚未届满，届满后仍未评价的再电话回访。")


# --- the rules -----------------------------------------------------------------------------------

_MANAGER_ONLY = "只有负责该投诉单位的责任人可以执行此操作。"

CASE_RULES: dict[str, Rule] = {
    "accept":             Rule(manages, _MANAGER_ONLY, _case_move("accept")),
    "reject":             Rule(manages, _MANAGER_ONLY, _case_move("reject")),
    "transfer":           Rule(manages, _MANAGER_ONLY, _transfer_state),
    "refer_up":           Rule(manages, _MANAGER_ONLY, _case_move("refer_up")),
    "issue_verification": Rule(manages, _MANAGER_ONLY, _case_move("issue_verification")),
    "issue_supervision":  Rule(manages, _MANAGER_ONLY, _case_move("issue_supervision")),
    "close":              Rule(manages, _MANAGER_ONLY, _case_move("close")),
    "attach":             Rule(_roles(*CASE_ROLES), "您的角色不能上传附件。", _case_attach_state),
    "legal_hold":         Rule(manages, _MANAGER_ONLY, _hold_state),
    # Repeat complaints (caseflow.cases.merging): the responsible unit merges, unmerges or links.
    "merge":              Rule(manages, _MANAGER_ONLY, _merge_state),
    "unmerge":            Rule(manages, _MANAGER_ONLY, _case_move("unmerge")),
    "link_related":       Rule(manages, _MANAGER_ONLY, _link_state),
    "reveal_complainant": Rule(reveals_complainant, "只有处理责任单位可以查看投诉人的完整信息。"),
    "reveal_student":     Rule(reveals_student, "您的单位不能查看该学生的完整信息。"),
    # 督办 by hand (caseflow.chase.supervise), from the escalation queue and the case page.
    "supervise":          Rule(oversees, "只有上级单位的责任人可以提出督办意见。", _unfinished_state),
    "escalate_up":        Rule(may_escalate, "只有负责或督办该投诉的单位的责任人可以提请上级督办。", _unfinished_state),
}

ORDER_RULES: dict[str, Rule] = {
    "sign":              Rule(receives, "只有接收单位的承办人可以签收。", _order_move("sign")),
    "return":            Rule(receives, "只有接收单位可以退回。", _order_move("return")),
    "relay":             Rule(lambda user, order: receives(user, order) and not order.receiving_unit.is_school,
                              "只有接收单位（教育行政部门）可以转下级办理。", _relay_state),
    "report":            Rule(receives, "只有接收单位的承办人可以报送。", _report_state),
    "request_extension": Rule(receives, "只有接收单位可以申请延期。", _extension_state),
    "attach":            Rule(receives, "只有接收单位可以上传该单的附件。", _order_attach_state),
    "accept":            Rule(reviews, "只有下发单位可以审核。", _accept_state),
    "send_back":         Rule(reviews, "只有下发单位可以退回重办。", _order_move("send_back")),
    "decide_extension":  Rule(reviews, "只有下发单位可以审批延期申请。", _decide_state),
    # 中止计时: the receiver asks, the issuer decides; either end may restart the clock.
    "request_pause":     Rule(receives, "只有接收单位可以申请中止计时。", _pause_request_state),
    "decide_pause":      Rule(reviews, "只有下发单位可以审批中止计时申请。", _decide_pause_state),
    "resume":            Rule(lambda user, order: receives(user, order) or bool(reviews(user, order)),
                              "只有接收单位或下发单位可以恢复计时。", _order_move("resume")),
    # 退单审核: the issuer (or the level above, once disputed) confirms or refuses a return.
    "review_return":     Rule(decides_return, "只有下发单位（或其上级裁定时的上级单位）可以审核退回申请。",
                              _order_move("confirm_return")),
    "refer_return":      Rule(reviews, "只有下发单位可以提请上级裁定。", _refer_return_state),
    "cite_rule":         Rule(lambda user, order: receives(user, order) or bool(reviews(user, order)),
                              "只有接收单位或下发单位可以引用政策依据。", _order_attach_state),
    # The two ends of an order call each other: their officials' phones are shown to them in full.
    "see_contacts":      Rule(lambda user, order: receives(user, order) or (
        user.role in REVEAL_ROLES and order.issuing_unit_id == user.unit_id), "只有下发和接收单位可以查看联系电话。"),


    "remind":            Rule(chases, "只有接收单位的上级单位责任人可以催办该单。", _remind_state),
}

# A closed case's follow-up task (回访, caseflow.cases.followups).
FOLLOW_UP_RULES: dict[str, Rule] = {
    "call": Rule(follows_up, "只有办结该投诉的单位的承办人或责任人可以回访。", _call_state),
}

# What a role may do regardless of any one case: the staff areas (checked by the views' decorator and
# the navigation) and actions that need no case or order.
USER_RULES: dict[str, Rule] = {
    "work_cases":         Rule(_roles(*CASE_ROLES), "只有受理员、承办人和责任人可以办理投诉。"),
    "work_inbox":         Rule(_roles(*WORKER_ROLES), "只有承办人和责任人有待办。"),
    "supervise_units":    Rule(_roles(Role.SUPERVISOR), "只有责任人可以查看统计、督办和通报。"),
    "administer":         Rule(_roles(Role.ADMIN), "只有系统管理员可以执行此操作。"),
    "use_registry":       Rule(_roles(*WORKER_ROLES, Role.ADMIN), "您的角色不能使用学籍数据。"),
    "check_registry_problems": Rule(_roles(Role.SUPERVISOR, Role.ADMIN), "只有责任人或系统管理员可以运行问题检查。"),
    "register_complaint": Rule(_roles(Role.INTAKE, Role.SUPERVISOR), "只有受理员或责任人可以登记投诉。"),
    # A role that may ever reveal; whether it may on one case is ``reveal_complainant`` / ``reveal_student``.
    "reveal":             Rule(_roles(*REVEAL_ROLES), "您的角色不能查看完整的个人信息。"),
    "look_up_registry":   Rule(_roles(*WORKER_ROLES), "只有承办人或责任人可以为投诉查询学籍。"),
    "open_problem_case":  Rule(_roles(Role.SUPERVISOR), "只有责任人可以将监测发现的问题立案。"),
    # The published complaint channel (/directory): administrators keep every unit's, a supervisor their own.
    "keep_channel":       Rule(_roles(Role.SUPERVISOR, Role.ADMIN), "只有系统管理员或本单位责任人可以修改投诉渠道。"),
    # Several orders at once from the inbox; each order is still checked on its own ("sign", the chase's 催办).
    "bulk_sign":          Rule(_roles(*WORKER_ROLES), "只有承办人和责任人可以批量签收。"),
    "bulk_remind":        Rule(_roles(Role.SUPERVISOR), "只有责任人可以批量催办。"),
    "follow_up":          Rule(_bureau_worker, "只有教育行政部门的承办人和责任人可以回访。"),
}


# The complainant holds no account: their right to a case is its access code (the tracking page's grant,
# checked by the view before anything else).  Only the state half is asked, by the page and the
# operations alike (``complainant_check`` / ``complainant_can``).

def _complainant_unfinished(case: Case) -> None:
    if case.state in CaseState.FINISHED:
        raise IllegalTransition(f"该投诉{case.state.label}，不能再补充材料。")


COMPLAINANT_RULES: dict[str, Callable[[Case], None] | None] = {
    "add_material": _complainant_unfinished,  # 补充材料, until the case is finished
    "withdraw":     _case_move("withdraw"),   # 撤诉
    "choose_notice": None,                    # SMS or none, at any time
}


def complainant_check(action: str, case: Case) -> None:
    """Raise ``IllegalTransition`` unless the complainant may take ``action`` on ``case`` now."""
    try:
        state = COMPLAINANT_RULES[action]
    except KeyError:
        raise ValueError(f"unknown complainant action {action!r}") from None
    if state is not None:
        state(case)


def complainant_can(action: str, case: Case) -> bool:
    """Whether the complainant may take ``action`` on ``case`` now (the tracking page's forms)."""
    try:
        complainant_check(action, case)
    except IllegalTransition:
        return False
    return True


def _rules_for(obj: object) -> dict[str, Rule]:
    if obj is None:
        return USER_RULES
    if isinstance(obj, Case):
        return CASE_RULES
    if isinstance(obj, Order):
        return ORDER_RULES
    if isinstance(obj, FollowUp):
        return FOLLOW_UP_RULES
    raise TypeError(f"no permission rules for {type(obj).__name__}")


def _rule(action: str, obj: object) -> Rule:
    try:
        return _rules_for(obj)[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r} on {type(obj).__name__}") from None


# --- asking --------------------------------------------------------------------------------------

def check(user: User, action: str, obj: Case | Order | FollowUp | None = None, *, check_state: bool = True,
          denied: str | None = None) -> None:
    """Raise ``NotAllowed`` unless ``user`` holds the right, then ``IllegalTransition`` unless the state allows it.

    ``denied`` replaces the rule's message where the caller says more precisely what was refused.
    """
    rule = _rule(action, obj)
    if not rule.right(user, obj):
        raise NotAllowed(denied or rule.denied)
    if check_state and rule.state is not None:
        rule.state(obj)


def can(user: User, action: str, obj: Case | Order | FollowUp | None = None, *, check_state: bool = True) -> bool:
    """Whether ``user`` may take ``action`` on ``obj`` (now, unless ``check_state`` is False)."""
    try:
        check(user, action, obj, check_state=check_state)
    except (NotAllowed, IllegalTransition):
        return False
    return True


def allowed_actions(user: User, obj: Case | Order | FollowUp) -> set[str]:
    """Every action ``user`` may take on ``obj`` now: the forms its page shows."""
    return {action for action in _rules_for(obj) if can(user, action, obj)}
