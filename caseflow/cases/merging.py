"""并单, 撤销并单, 关联: what the responsible unit does with a repeat complaint found at intake.

Why merging keeps the repeat as its own row (state MERGED, ``merged_into`` the primary) rather than
moving its complainant onto the primary: the second complainant keeps their own number and access code
and tracks the primary's progress with them; their data stays theirs (never shown on the primary);
unmerging is then only a state change back; and every figure counts the primary alone by leaving
MERGED out (``CaseState.COUNTED``). Each operation writes an event on both timelines.
"""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import permissions, repeats
from caseflow.cases.operations import _cancel_open_orders, _event, _move_case, flush
from caseflow.deadlines import policy
from caseflow.deadlines.settings import current_rules
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Case, CaseLink, CaseState, User
from caseflow.security.text import strip_bidi
from caseflow.timeutil import local_today, utcnow


def _note(text: str | None) -> str:
    text = strip_bidi(text or "").strip()[:2000]
    return f"：{text}" if text else ""


def _recorded_match(case: Case, other: Case, what: str) -> CaseLink:
    link = repeats.link_between(case, other)
    if link is None:
        raise InvalidInput(f"只能{what}系统提示的可能重复的投诉。", field="other")
    return link


def merge_case(actor: User, case: Case, primary: Case, note: str | None = None) -> None:
    """Merge the repeat complaint ``case`` into the earlier ``primary``: its open orders are cancelled."""
    permissions.check(actor, "merge", case)
    link = _recorded_match(case, primary, "并入")
    if primary.state is CaseState.MERGED:
        raise InvalidInput(f"投诉{primary.number}已并入其他投诉，请并入其主办投诉。", field="other")
    if primary.responsible_unit_id != case.responsible_unit_id:
        raise InvalidInput(f"投诉{primary.number}由{primary.responsible_unit.name}负责，只能并入本单位负责的投诉。",
                           field="other")
    if db.session.scalar(sa.select(sa.exists().where(Case.merged_into_id == case.id))):
        raise InvalidInput(f"已有重复投诉并入投诉{case.number}，它不能再并入其他投诉。", field="other")
    before = case.state
    _cancel_open_orders(case, actor)
    _move_case(case, "merge", actor, note=f"并入投诉{primary.number}（{link.reason.label}）{_note(note)}",
               merged_into=primary, state_before_merge=before.value, action_due_on=None)
    _event(primary, "merge_in", actor, note=f"投诉{case.number}（{link.reason.label}）并入本投诉办理{_note(note)}")
    flush()


def unmerge_case(actor: User, case: Case, note: str | None = None) -> None:
    """撤销并单: the case goes back to the state it had before merging, with its own deadline again."""
    permissions.check(actor, "unmerge", case)
    primary = case.merged_into
    restored = CaseState(case.state_before_merge) if case.state_before_merge else None
    event = _move_case(case, "unmerge", actor, note=f"撤销并入投诉{primary.number if primary else ''}{_note(note)}",
                       merged_into=None, state_before_merge=None)
    if restored is not None:  # the workflow's target is only the fallback: restore what it was
        case.state, event.to_state = restored, restored.value
    if case.state in CaseState.AWAITING_RESPONSIBLE:
        due = policy.registered_action_due(current_rules(), local_today())
        case.action_due_on, case.action_due_provisional = due.on, due.provisional
    if primary is not None:
        _event(primary, "unmerge_out", actor, note=f"投诉{case.number}撤销并单，单独办理{_note(note)}")
    flush()


def link_cases(actor: User, case: Case, other: Case, note: str | None = None) -> None:
    """关联: record that ``case`` repeats the earlier ``other`` without merging; both go on being handled."""
    permissions.check(actor, "link_related", case)
    link = _recorded_match(case, other, "关联")
    if link.linked_at is not None:
        raise InvalidInput(f"已与投诉{other.number}关联。", field="other")
    link.linked_at, link.linked_by_id = utcnow(), actor.id
    _event(case, "link_related", actor, note=f"与投诉{other.number}关联（{link.reason.label}）{_note(note)}")
    _event(other, "link_related", actor, note=f"与投诉{case.number}关联（{link.reason.label}）{_note(note)}")
    flush()
