"""Repeat complaints (重复投诉): earlier cases about the same student, found at intake.

Every intake path (the citizen form, the clerk's form, registry monitoring, the API) stores a complaint
through ``operations.submit_complaint``, which asks ``record_matches`` right after: the matches are kept
as ``case_links`` rows, so the responsible unit sees them on the case page and may merge (并单,
``caseflow.cases.merging``) or link them. A match is an open case, or one closed within the setting
``repeat_window_days``, whose student has the same keyed lookup hash of the ID number or of the
registry number, or the same name, birth date and a school in common. Rows are never decrypted: each
condition is one indexed statement.

``earlier_submission`` is the other half: a citizen sending the same complaint again (same student,
same category, same phone) within ``repeat_resubmit_days`` gets told where the first one stands.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, aliased

from caseflow.deadlines.settings import setting_days
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Case, CaseLink, CaseState, Category, MatchReason, Person, case_schools
from caseflow.security import crypto
from caseflow.timeutil import format_date_cn, local_date, utcnow

if TYPE_CHECKING:  # the validated complaint, named in an annotation only (operations imports this module)
    from caseflow.cases.operations import ComplaintData

MAX_MATCHES = 20  # per reason: more than this about one student is a case for the list's search


@dataclass(frozen=True)
class Match:
    """One earlier case that may be the same matter, and why."""

    case: Case
    reason: MatchReason
    linked: bool = False  # linked as related (关联)


def _conditions(student: Person, school_ids: list[int]) -> list[tuple[MatchReason, sa.ColumnElement[bool]]]:
    """The SQL condition on the earlier case's student (``Person``) for each reason this student allows."""
    out: list[tuple[MatchReason, sa.ColumnElement[bool]]] = []
    if student.id_number_hash:
        out.append((MatchReason.ID_NUMBER, Person.id_number_hash == student.id_number_hash))
    if student.registry_no_hash:
        out.append((MatchReason.REGISTRY_NO, Person.registry_no_hash == student.registry_no_hash))
    if student.birth_date is not None and school_ids:
        shared_school = sa.exists().where(case_schools.c.case_id == Case.id, case_schools.c.unit_id.in_(school_ids))
        out.append((MatchReason.NAME_BIRTH_SCHOOL, sa.and_(Person.name == student.name,
                                                           Person.birth_date == student.birth_date, shared_school)))
    return out


def find_matches(student: Person, school_ids: list[int], *, exclude_id: int | None = None,
                 now: datetime | None = None) -> list[tuple[Case, MatchReason]]:
    """Open or recently closed cases about ``student`` (a ``Person`` with its lookup hashes), oldest first.

    One indexed statement per reason; a case found by several reasons keeps the strongest.
    """
    cutoff = (now or utcnow()) - timedelta(days=setting_days("repeat_window_days"))
    live = sa.or_(Case.state.not_in(CaseState.FINISHED), Case.closed_at >= cutoff)
    found: dict[int, tuple[Case, MatchReason]] = {}
    for reason, condition in _conditions(student, school_ids):
        stmt = (sa.select(Case).join(Person, Person.id == Case.student_id)
                .where(condition, live, Case.id != (exclude_id or 0))
                .order_by(Case.received_at, Case.id).limit(MAX_MATCHES))
        for case in db.session.scalars(stmt):
            found.setdefault(case.id, (case, reason))
    return sorted(found.values(), key=lambda m: (m[0].received_at, m[0].id))


def record_matches(case: Case) -> list[CaseLink]:
    """Find the earlier cases ``case`` may repeat and keep them as ``case_links`` rows (flushed by the caller)."""
    known = set(db.session.scalars(sa.select(CaseLink.other_id).where(CaseLink.case_id == case.id)))
    links = [CaseLink(case=case, other=other, reason=reason)
             for other, reason in find_matches(case.student, [s.id for s in case.schools], exclude_id=case.id)
             if other.id not in known and other.received_at <= case.received_at]
    db.session.add_all(links)
    return links


def _linked(case: Case, mine: InstrumentedAttribute[int], theirs: InstrumentedAttribute[int]) -> list[Match]:
    """The cases at the ``theirs`` end of the links whose ``mine`` end is ``case``, oldest first."""
    other = aliased(Case)
    rows = db.session.execute(
        sa.select(other, CaseLink.reason, CaseLink.linked_at).join(other, other.id == theirs)
        .where(mine == case.id).order_by(other.received_at, other.id))
    return [Match(c, reason, linked_at is not None) for c, reason, linked_at in rows]


def matches_of(case: Case) -> list[Match]:
    """The recorded matches of ``case`` with the earlier cases, as the case page shows them."""
    return _linked(case, CaseLink.case_id, CaseLink.other_id)


def repeats_of(case: Case) -> list[Match]:
    """Later cases recorded as possible repeats of ``case`` (its other side), and those merged into it."""
    return _linked(case, CaseLink.other_id, CaseLink.case_id)


def link_between(case: Case, other: Case) -> CaseLink | None:
    return db.session.scalars(sa.select(CaseLink).where(CaseLink.case_id == case.id,
                                                        CaseLink.other_id == other.id)).first()


def earlier_submission(phone: str | None, student_id_number: str | None, student_registry_no: str | None,
                       category: Category, *, now: datetime | None = None) -> Case | None:
    """The same complainant's case about the same student and category within ``repeat_resubmit_days``, if any.

    Only the complainant's own (same phone hash): someone else's complaint is never revealed this way.
    """
    phone_hash = crypto.lookup_hash(phone)
    keys = [(Person.id_number_hash, crypto.lookup_hash(student_id_number)),
            (Person.registry_no_hash, crypto.lookup_hash(student_registry_no))]
    same_student = [column == value for column, value in keys if value]
    if not phone_hash or not same_student:
        return None
    complainant = aliased(Person)
    since = (now or utcnow()) - timedelta(days=setting_days("repeat_resubmit_days"))
    return db.session.scalars(
        sa.select(Case).join(Person, Person.id == Case.student_id)
        .join(complainant, complainant.id == Case.complainant_id)
        .where(sa.or_(*same_student), complainant.phone_hash == phone_hash, Case.category == category,
               Case.received_at >= since)
        .order_by(Case.received_at.desc(), Case.id.desc()).limit(1)).first()


class RepeatSubmission(InvalidInput):
    """The citizen already submitted this complaint: no second case; the message names the first one."""

    def __init__(self, case: Case):
        shown = case.merged_into if case.merged_into is not None else case  # a merged one: where its primary is
        super().__init__(f"您已于{format_date_cn(local_date(case.received_at))}提交过同一学生的同类投诉"
                         f"（编号{case.number}），目前状态：{shown.state.label}。如需补充材料，请在查询页面补充。")
        self.case = case


def refuse_complaint_resubmission(complaint: ComplaintData) -> None:
    """Raise ``RepeatSubmission`` when the citizen sent this complaint within ``repeat_resubmit_days``.

    Asked by the citizen's paths (the web
    form, the API) before ``submit_complaint``; a clerk registering a call or letter is not refused.
    """
    earlier = earlier_submission(complaint.complainant.phone, complaint.student.id_number,
                                 complaint.student.registry_no, complaint.category)
    if earlier is not None:
        raise RepeatSubmission(earlier)
