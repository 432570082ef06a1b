"""What a citizen may see of a case, and the door to it: case number + access code."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from caseflow.cases.numbering import access_code_matches
from caseflow.cases.workflow import CASE_MOVES
from caseflow.deadlines import status
from caseflow.deadlines.settings import current_rules
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Case, CaseEvent, CaseState
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


def public_timeline(case: Case) -> list[PublicEvent]:
    """Public moves only, as the workflow words them: never notes, never officials' names."""
    events = db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True))
        .order_by(CaseEvent.created_at, CaseEvent.id)
    )
    timeline = []
    for e in events:
        move = CASE_MOVES.get(e.action)
        if move is not None and move.public:
            timeline.append(PublicEvent(e.created_at, move.public))
    return timeline


def next_deadline(case: Case) -> date | None:
    """When the current step is due: the unit's own action, or the open orders of this round."""
    if case.state in CaseState.FINISHED:
        return None
    if case.action_due_on:
        return case.action_due_on
    due = [o.due_on for o in case.orders if o.parent_id is None and o.round == case.round
           and status.completion_running(o)]
    return max(due) if due else None


def can_rate(case: Case) -> bool:
    return case.state is CaseState.CLOSED and case.rating is None


def process_days() -> dict[str, int]:
    """The working-day limits of each step, as currently set (DOMAIN §4)."""
    days = current_rules().days
    return {key: days[key] for key in
            ("issue_verification_days", "verification_days", "decision_days", "supervision_days")}
