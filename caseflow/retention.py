"""Retention: finished cases are anonymised a set time after the last thing that happened to them.

What goes: the names, ID numbers, registry numbers and phones of the complainant and the student,
every free text of the case and its orders (complaint, findings, opinions, replies, reasons, notes),
the contact people of the orders, the attachments and the stored PDFs. What stays: the case's
number, category, units, states, dates, ratings and the timeline's moves (so every figure stays
the same), and the audit trail (append-only). A case under legal hold (法律保留) is kept whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from caseflow.extensions import db, unit_of_work
from caseflow.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseState,
    ExtensionRequest,
    FollowUp,
    Person,
    RenderedDocument,
    User,
)
from caseflow.security.audit import record_access
from caseflow.timeutil import SHANGHAI, local_today, utcnow

REMOVED = "（已按保存期限删除）"
ANONYMOUS = "（已匿名）"
BATCH = 200


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def cutoff(today: date | None = None) -> datetime:
    """Cases whose last event is before this instant are past retention (the setting RETENTION_YEARS)."""
    start = _years_later(today or local_today(), -current_app.config["RETENTION_YEARS"])
    return datetime.combine(start, time(), SHANGHAI)


def past_retention(today: date | None = None, *, held: bool = False) -> sa.Select:
    """Ids of finished cases not yet anonymised with nothing happening since the cutoff (held or not)."""
    recent = sa.exists().where(CaseEvent.case_id == Case.id, CaseEvent.created_at >= cutoff(today))
    return (sa.select(Case.id)
            .where(Case.state.in_(CaseState.FINISHED), Case.legal_hold.is_(held), Case.anonymised_at.is_(None),
                   ~recent)
            .order_by(Case.id))


@dataclass
class RetentionResult:
    anonymised: int = 0
    held: int = 0
    files_removed: int = 0

    def as_dict(self) -> dict:
        return {"anonymised": self.anonymised, "held": self.held, "files_removed": self.files_removed}


def _clear_person(person: Person) -> None:
    person.name = ANONYMOUS
    person.sex = None
    person.age = None
    person.ethnicity = None
    person.birth_date = None
    for column in ("id_number", "id_number_hash", "phone", "phone_hash", "registry_no", "registry_no_hash"):
        setattr(person, column, None)


ORDER_TEXTS = ("handling_opinion", "findings", "handling_result", "return_reason", "sent_back_reason")
ORDER_CONTACTS = ("responsible_person", "responsible_phone", "acting_person", "acting_phone")
CASE_TEXTS = ("complaint_summary", "routing_note", "rejection_reason", "reply", "rating_comment", "withdrawal_reason")


def anonymise(case: Case, *, by: User | None = None) -> list[Path]:
    """Strip ``case`` of personal data in the current transaction; the files to delete after commit."""
    from caseflow.cases.attachments import path_of
    from caseflow.documents.store import pdf_dir

    _clear_person(case.complainant)
    _clear_person(case.student)
    case.description = REMOVED
    for column in CASE_TEXTS:
        if getattr(case, column) is not None:
            setattr(case, column, REMOVED)
    order_ids = [o.id for o in case.orders]
    for order in case.orders:
        order.content = REMOVED
        for column in ORDER_TEXTS:
            if getattr(order, column) is not None:
                setattr(order, column, REMOVED)
        for column in ORDER_CONTACTS:
            setattr(order, column, None)
    if order_ids:
        db.session.execute(sa.update(ExtensionRequest).where(ExtensionRequest.order_id.in_(order_ids))
                           .values(reason=REMOVED, decision_note=None))
    db.session.execute(sa.update(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.note.is_not(None))
                       .values(note=None))
    # The follow-up call's note holds the complainant's words; its answers (the rates' facts) stay.
    db.session.execute(sa.update(FollowUp).where(FollowUp.case_id == case.id, FollowUp.note.is_not(None))
                       .values(note=None))
    files = [path_of(a) for a in case.attachments]
    db.session.execute(sa.delete(Attachment).where(Attachment.case_id == case.id))
    if order_ids:
        docs = db.session.scalars(sa.select(RenderedDocument).where(RenderedDocument.order_id.in_(order_ids))).all()
        files += [pdf_dir() / d.file_name for d in docs]
        db.session.execute(sa.delete(RenderedDocument).where(RenderedDocument.order_id.in_(order_ids)))
    case.anonymised_at = utcnow()
    record_access(by, "anonymise", "case", case.number, detail="保存期限届满，个人信息已删除")
    return files


def _unlink(paths: list[Path]) -> int:
    removed = 0
    for path in paths:
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def run(today: date | None = None, *, dry_run: bool = False, by: User | None = None) -> RetentionResult:
    """Anonymise every case past retention, in batches (each its own transaction)."""
    result = RetentionResult()
    result.held = db.session.scalar(sa.select(sa.func.count()).select_from(past_retention(today, held=True)
                                                                          .subquery())) or 0
    if dry_run:
        result.anonymised = db.session.scalar(
            sa.select(sa.func.count()).select_from(past_retention(today).subquery())) or 0
        db.session.rollback()
        return result
    while True:
        ids = db.session.scalars(past_retention(today).limit(BATCH)).all()
        if not ids:
            break
        files: list[Path] = []
        with unit_of_work():
            for case in db.session.scalars(sa.select(Case).where(Case.id.in_(ids)).with_for_update()):
                files += anonymise(case, by=by)
        result.anonymised += len(ids)
        result.files_removed += _unlink(files)  # after the commit: a rollback keeps them
    db.session.rollback()
    return result


def set_hold(case: Case, on: bool, by: User, reason: str) -> None:
    """Put a case under legal hold (it is never anonymised) or release it: an event on the case, audited."""
    from caseflow.cases import permissions

    permissions.check(by, "legal_hold", case)
    action = "legal_hold" if on else "legal_release"
    case.legal_hold = on
    db.session.add(CaseEvent(case=case, action=action, actor=by, actor_unit_id=by.unit_id, note=reason))
    record_access(by, action, "case", case.number, detail=reason)


def retention_ends(case: Case) -> date | None:
    """The day a finished case becomes due for anonymisation (None while open, held or done)."""
    if case.state not in CaseState.FINISHED or case.legal_hold or case.anonymised_at is not None:
        return None
    last = db.session.scalar(sa.select(sa.func.max(CaseEvent.created_at)).where(CaseEvent.case_id == case.id))
    if last is None:
        return None
    return _years_later(last.astimezone(SHANGHAI).date(), current_app.config["RETENTION_YEARS"]) + timedelta(days=1)
