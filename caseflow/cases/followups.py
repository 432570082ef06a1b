"""Follow-up tasks (回访) of closed cases: opened at closing, ended by an online rating or by the call.

The task belongs to the unit responsible at closing.  A complainant who can rate online (a web
complaint) has ``follow_up_rate_days`` working days to do so; a rating then ends the task and no call
is made.  Otherwise an officer calls: an unanswered call may be tried again until ``MAX_FAILED_CALLS``
failures make the task invalid (not counted in the rates); an answered call records whether the
problem was solved and the complainant's rating.  The rating itself goes through the case's rating
path (``operations.record_call``), so 不满意 reopens the case exactly as an online 不满意 does.

This module keeps the task's own rows; ``caseflow.cases.operations`` calls it and writes the events.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from caseflow.cases.workflow import follow_up_move
from caseflow.deadlines import policy, status
from caseflow.deadlines.settings import current_rules, load_calendar
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Case, CaseSource, FollowUp, FollowUpState, Rating, Resolution, User
from caseflow.timeutil import local_date

# Unanswered calls after which a follow-up is invalid (无效回访): not counted in the rates.
MAX_FAILED_CALLS = 3

# What an online rating says about the outcome, for the resolution rate (shown with the definitions).
ONLINE_RESOLUTION = {Rating.SATISFIED: Resolution.SOLVED, Rating.BASICALLY: Resolution.PARTLY,
                     Rating.UNSATISFIED: Resolution.UNSOLVED}

# Only a web complainant has the tracking page to rate on; the others are called straight away.
RATES_ONLINE = (CaseSource.WEB,)


def _move(task: FollowUp, action: str) -> str:
    """Make a task move through the workflow table; returns its label for the case's timeline."""
    move = follow_up_move(action, task.state)
    task.state = move.target
    return move.label


def open_task(case: Case, closed_at: datetime) -> FollowUp:
    """The follow-up of the round just closed, owed by the responsible unit."""
    closed_on = local_date(closed_at)
    rate_until, due = policy.follow_up_due(current_rules(), closed_on, rates_online=case.source in RATES_ONLINE)
    task = FollowUp(case=case, round=case.round, unit_id=case.responsible_unit_id, closed_on=closed_on,
                    rate_until=rate_until, due_on=due.on, state=follow_up_move("open", None).target)
    db.session.add(task)
    return task


def pending_for(case: Case) -> FollowUp | None:
    """The open follow-up of the case's current round, if any."""
    return db.session.scalars(sa.select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.round == case.round,
        FollowUp.state == FollowUpState.PENDING)).first()


def _end(task: FollowUp, at: datetime, actor: User | None, *, resolution: Resolution, rating: Rating,
         note: str | None) -> None:
    task.ended_at, task.ended_by_id = at, actor.id if actor else None
    task.in_time = status.on_time(task.due_on, local_date(at))
    task.resolution, task.rating, task.note = resolution, rating, note


def rated_online(case: Case, rating: Rating, at: datetime) -> str | None:
    """The complainant rated on the tracking page: the rating ends the task (no call). The event note, or None."""
    task = pending_for(case)
    if task is None:
        return None
    label = _move(task, "rated_online")
    _end(task, at, None, resolution=ONLINE_RESOLUTION[rating], rating=rating, note=None)
    return label


@dataclass(frozen=True)
class CallResult:
    """What an officer records after calling the complainant."""

    reached: bool
    resolution: Resolution | None = None
    rating: Rating | None = None
    note: str | None = None


def call_problems(result: CallResult) -> list[tuple[str, str]]:
    """Every (field, message) a reached call still lacks; the page shows them all at once."""
    if not result.reached:
        return []
    problems = []
    if result.resolution is None:
        problems.append(("resolution", "请选择投诉人所说的解决情况"))
    if result.rating is None:
        problems.append(("rating", "请选择投诉人的满意度"))
    if result.rating is Rating.UNSATISFIED and not (result.note or "").strip():
        problems.append(("note", "投诉人不满意时，请记录不满意的原因"))
    return problems


def check_call(result: CallResult) -> CallResult:
    """The call as it is stored (the note trimmed, no answers for an unanswered call), or the first problem."""
    for field, message in call_problems(result):
        raise InvalidInput(message, field=field)
    note = (result.note or "").strip()[:2000] or None
    return CallResult(result.reached, result.resolution if result.reached else None,
                      result.rating if result.reached else None, note)


def record_call(task: FollowUp, actor: User, result: CallResult, at: datetime) -> str:
    """Store one call on the task (already checked and permitted); returns the timeline's note."""
    if not result.reached:
        task.failed_calls += 1
        action = "call_invalid" if task.failed_calls >= MAX_FAILED_CALLS else "call_unreached"
        label = _move(task, action)
        if action == "call_invalid":
            task.ended_at, task.ended_by_id, task.note = at, actor.id, result.note
        return f"{label}（第{task.failed_calls}次）" + (f"：{result.note}" if result.note else "")
    assert result.resolution is not None and result.rating is not None  # check_call saw to it
    label = _move(task, "call")
    _end(task, at, actor, resolution=result.resolution, rating=result.rating, note=result.note)
    return (f"{label}：{result.resolution.label}，{result.rating.label}"
            + (f"。{result.note}" if result.note else ""))


def due_calls(unit_id: int, today: date) -> list[FollowUp]:
    """A unit's follow-ups waiting for a call, the earliest deadline first."""
    return list(db.session.scalars(sa.select(FollowUp).where(FollowUp.unit_id == unit_id,
                                                             status.follow_up_call_owed(FollowUp, today))
                                   .options(joinedload(FollowUp.case).joinedload(Case.complainant))
                                   .order_by(FollowUp.due_on, FollowUp.id)))


@dataclass(frozen=True)
class Counts:
    """The figures above the list: calls to make, of them late or due today, and tasks still waiting online."""

    due: int
    overdue: int
    due_today: int
    waiting_online: int


def counts(unit_id: int, today: date) -> Counts:
    """One statement: the unit's open follow-ups counted by where their deadline stands."""
    open_now = status.follow_up_call_owed(FollowUp, today)
    pending = FollowUp.state == FollowUpState.PENDING

    def n(cond):
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    row = db.session.execute(sa.select(
        n(open_now), n(sa.and_(open_now, status.is_past(FollowUp.due_on, today))),
        n(sa.and_(open_now, FollowUp.due_on == today)), n(sa.and_(pending, sa.not_(open_now))),
    ).where(FollowUp.unit_id == unit_id, pending)).one()
    return Counts(*(int(v) for v in row))


def deadline(task: FollowUp, today: date) -> status.DeadlineLabel:
    """The call's deadline as every list shows deadlines (剩n个工作日 / 今天到期 / 已逾期n个工作日)."""
    return status.describe(load_calendar(), task.due_on, today, done=task.state is not FollowUpState.PENDING)


def task_of(case_number: str) -> FollowUp | None:
    """The case's follow-up of its latest closed round (URLs name cases by number, never by row id)."""
    return db.session.scalars(sa.select(FollowUp).join(Case, Case.id == FollowUp.case_id)
                              .where(Case.number == case_number).order_by(FollowUp.round.desc()).limit(1)).first()
