"""What a citizen may see of a case, and the door to it: case number + access code."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from caseflow.cases import permissions
from caseflow.cases.numbering import access_code_matches
from caseflow.cases.workflow import CASE_MOVES
from caseflow.deadlines import status
from caseflow.deadlines.settings import current_rules
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Case, CaseEvent, CaseState, OrderState, PauseReason
from caseflow.security import throttle

NEUTRAL_FAILURE = "投诉编号或查询码不正确，请核对后重新输入。"


def track_limit() -> throttle.Limit:
    return throttle.Limit(
        "track", current_app.config["TRACK_MAX_FAILURES"], current_app.config["TRACK_WINDOW_SECONDS"],
        "查询码错误次数过多。为保护投诉人信息，请{minutes}分钟后再试。",
    )


def normalise_number(number: str | None) -> str:
    return "".join((number or "").split()).upper()[:20]


def open_case(number: str, code: str, client: str | None) -> Case:
    """The case if the code fits; a wrong number and a wrong code fail alike, and are counted.

    Raises ``TooManyAttempts`` when this client has failed too often on this
    case, or on any case, ``InvalidInput`` (the neutral message) otherwise.
    Failures elsewhere never refuse the right code.  The caller commits in both
    the success and the failure case, so failures are kept.
    """
    number = normalise_number(number)
    limit = track_limit()
    pair, address = f"case:{client or '-'}|{number}", f"addr:{client or '-'}"
    throttle.attempt(limit, [pair, address])
    case = db.session.scalars(sa.select(Case).where(Case.number == number)).first()
    if case is None or not access_code_matches(number, code, case.access_code_hash):
        raise InvalidInput(NEUTRAL_FAILURE, field="code")
    throttle.clear(limit, [pair])
    throttle.forgive(limit, [address])
    return case


def find(number: str) -> Case | None:
    """Load a case the citizen already holds a grant for."""
    return db.session.scalars(sa.select(Case).where(Case.number == normalise_number(number))).first()


@dataclass(frozen=True)
class PublicEvent:
    at: datetime
    text: str


def public_timeline(case: Case, *, leave_out: tuple[str, ...] = ()) -> list[PublicEvent]:
    """Public moves only, as the workflow words them: never notes, never officials' names."""
    events = db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True),
                                   CaseEvent.action.not_in(leave_out))
        .order_by(CaseEvent.created_at, CaseEvent.id)
    )
    timeline = []
    for e in events:
        move = CASE_MOVES.get(e.action)
        text = move.public if move is not None else PUBLIC_ACTIONS.get(e.action)
        if text:
            timeline.append(PublicEvent(e.created_at, text))
    return timeline


# Public events that are not moves of the case: the complainant's own actions (citizen_actions).
PUBLIC_ACTIONS = {"complainant_material": "您补充了材料，已通知承办单位"}


def followed(case: Case) -> Case:
    """The case whose progress the complainant follows: a merged repeat complaint shows its primary's."""
    if case.state is CaseState.MERGED and case.merged_into is not None:
        return case.merged_into
    return case


def merged_note(case: Case) -> str | None:
    """The plain words a merged complaint's tracking page opens with (None for any other case)."""
    primary = followed(case)
    if primary is case:
        return None
    return f"您的投诉与编号为{primary.number}的投诉反映同一问题，已合并办理，办理进展如下。"


# The primary's moves that speak to its own complainant ("您已评价"…), left out of a merged case's page.
OWN_COMPLAINANT_MOVES = ("submit", "register", "rate", "reopen")


def public_reply(case: Case) -> str | None:
    """The reply the complainant reads: the followed case's, once it is closed or referred upward."""
    shown = followed(case)
    return shown.reply if shown.state in (CaseState.CLOSED, CaseState.REFERRED) else None


def merged_and_closed(case: Case) -> bool:
    """A merged complaint whose primary is closed: its complainant has nothing more to wait for."""
    shown = followed(case)
    return shown is not case and shown.state is CaseState.CLOSED


def followed_timeline(case: Case) -> list[PublicEvent]:
    """The public timeline a complainant sees: their own case's, then (once merged) the primary's work."""
    primary = followed(case)
    own = public_timeline(case)
    if primary is case:
        return own
    return sorted(own + public_timeline(primary, leave_out=OWN_COMPLAINANT_MOVES), key=lambda e: e.at)


def next_deadline(case: Case) -> date | None:
    """When the current step is due: the unit's own action, or the open orders of this round."""
    if case.state in CaseState.FINISHED:
        return None
    if case.action_due_on:
        return case.action_due_on
    due = [o.due_on for o in case.orders if o.parent_id is None and o.round == case.round
           and status.completion_running(o)]
    return max(due) if due else None


# The citizen's progress stepper: the six steps, and per state the step under way (its index) and
# whose turn it is ("{unit}" is the responsible unit's name).  A finished case has no current step.
PUBLIC_STEPS = ("提交", "受理", "核查", "督办", "办结", "评价")
_STEP_OF: dict[CaseState, tuple[int, str]] = {
    CaseState.SUBMITTED: (1, "{unit}受理您的投诉"),
    CaseState.REGISTERED: (2, "{unit}向有关学校或下级教育部门下发核查单"),
    CaseState.VERIFYING: (2, "有关学校或下级教育部门核实情况"),
    CaseState.DECIDING: (3, "{unit}研究处理意见并下发督办单"),
    CaseState.HANDLING: (3, "承办单位按督办单办理"),
    CaseState.CONCLUDING: (4, "{unit}审核办理结果并答复您"),
    CaseState.CLOSED: (5, "您对办理结果进行评价"),
}


@dataclass(frozen=True)
class Progress:
    """Where a case stands for the citizen: each step's state ("done", "current", "todo", "stopped")."""

    steps: list[tuple[str, str]]
    turn: str | None
    due_on: date | None
    ended: str | None  # why the steps stop early: rejected or referred upward
    paused: str | None = None  # why the clock is stopped (中止计时), in public words


# Why an order's clock is stopped, as the complainant is told it: never the unit's own note.
PAUSE_PUBLIC: dict[PauseReason, str] = {
    PauseReason.AWAITING_COMPLAINANT: "办理单位正在等待您补充材料，暂停计时。请尽快与负责单位联系并提交材料。",
    PauseReason.OTHER_AUTHORITY: "该事项需由其他部门认定，办理单位正在等待认定结果，暂停计时。",
    PauseReason.OTHER: "办理单位因特殊情况暂停计时，恢复后将继续办理。",
}
assert PAUSE_PUBLIC.keys() == set(PauseReason)


def pause_notice(case: Case) -> str | None:
    """The public sentence for a stopped clock on an order of the current round, if any."""
    for order in case.orders:
        if order.round == case.round and order.state is OrderState.PAUSED:
            running = permissions.running_pause(order)
            if running is not None:
                return PAUSE_PUBLIC[running.reason]
    return None


def progress(case: Case) -> Progress:
    """The stepper for a case: done steps, the one under way with whose turn it is and its deadline."""
    unit = case.responsible_unit.name
    if case.state is CaseState.WITHDRAWN:  # the complainant ended it: nothing after submitting is under way
        return Progress([(label, "done" if i == 0 else "todo") for i, label in enumerate(PUBLIC_STEPS)],
                        None, None, case.state.label)
    if case.state in (CaseState.REJECTED, CaseState.REFERRED):
        steps = [(label, "done" if i == 0 else "stopped" if i == 1 else "todo")
                 for i, label in enumerate(PUBLIC_STEPS)]
        return Progress(steps, None, None, case.state.label)
    current, turn_text = _STEP_OF[case.state]
    turn: str | None = turn_text.format(unit=unit)
    if case.state is CaseState.CLOSED and case.rating is not None:
        current, turn = len(PUBLIC_STEPS), None
    steps = [(label, "done" if i < current else "current" if i == current else "todo")
             for i, label in enumerate(PUBLIC_STEPS)]
    return Progress(steps, turn, next_deadline(case), None, pause_notice(case))


def can_rate(case: Case) -> bool:
    return case.state is CaseState.CLOSED and case.rating is None


def process_days() -> dict[str, int]:
    """The working-day limits of each step, as currently set (DOMAIN §4)."""
    days = current_rules().days
    return {key: days[key] for key in
            ("issue_verification_days", "verification_days", "decision_days", "supervision_days")}


def personal_data(case: Case) -> dict:
    """What caseflow holds about the complainant and the student of ``case`` (a PIPL access request).

    Everything they gave or that was decided for them, in full: they proved the access code. Names of
    officials and internal notes are not theirs and stay out, as on the tracking page.
    """
    def person(p) -> dict:
        return {"姓名": p.name, "性别": p.sex.label if p.sex else None, "年龄": p.age, "民族": p.ethnicity,
                "出生日期": p.birth_date.isoformat() if p.birth_date else None, "证件号码": p.id_number,
                "联系电话": p.phone, "学籍号": p.registry_no}

    return {
        "投诉编号": case.number, "提交时间": case.received_at.isoformat(), "类别": case.category.label,
        "状态": case.state.label, "负责单位": case.responsible_unit.name,
        "所涉学校": [s.name for s in case.schools], "投诉内容": case.description,
        "投诉人": person(case.complainant), "学生": person(case.student),
        "答复": case.reply, "评价": case.rating.label if case.rating else None, "评价意见": case.rating_comment,
        "短信通知": case.notice.label, "撤诉理由": case.withdrawal_reason,
        "附件": [{"文件名": a.original_name, "大小（字节）": a.size, "上传时间": a.created_at.isoformat()}
               for a in case.attachments if a.uploaded_by_id is None],  # the complainant's own
        "办理过程": [{"时间": e.at.isoformat(), "事项": e.text} for e in public_timeline(case)],
        "说明": "本文件包含本投诉中您提交的及与您和学生有关的个人信息。办结后按保存期限保存，期满自动匿名化。",
    }
