"""The access code of a just-submitted complaint, kept briefly for its submission token.

The case keeps only a hash of the code.  A double click, a resent form or a parallel identical
request finds the case by its token; this store gives that answer the same receipt with the code,
for ``RECEIPT_CODE_SECONDS`` after the submission.  The code is sealed with the Keyring and written in
the same transaction as the case, so whoever finds the case finds its code.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from caseflow.extensions import db
from caseflow.models import Case, ReceiptCode
from caseflow.security import crypto
from caseflow.timeutil import utcnow


def remember(case: Case, token: str | None, code: str) -> None:
    """Keep ``code`` for ``token`` for a short time (and drop the codes whose time is up); ``case`` is flushed."""
    if not token:
        return
    now = utcnow()
    db.session.execute(sa.delete(ReceiptCode).where(ReceiptCode.expires_at <= now))
    seconds = current_app.config.get("RECEIPT_CODE_SECONDS", 900)
    db.session.add(ReceiptCode(token=token, case_id=case.id, code=crypto.encrypt(code),
                               expires_at=now + timedelta(seconds=seconds)))


def recall(case: Case, token: str | None) -> str | None:
    """The code issued for ``case`` to the submission ``token``, while it is still kept; else None."""
    if not token:
        return None
    sealed = db.session.scalar(sa.select(ReceiptCode.code).where(
        ReceiptCode.token == token, ReceiptCode.case_id == case.id, ReceiptCode.expires_at > utcnow()))
    return crypto.decrypt(sealed) if sealed else None


def goes_to_ministry(case: Case) -> bool:
    """The case lies outside the provincial deployment: it is referred to the Ministry, not handled here.

    What every receipt (page, PDF, the clerk's copy) says about what happens next follows this.
    """
    return any(event.action == "routing_referral" for event in case.events)


MINISTRY_NEXT = "本投诉涉及外省学校，依规由教育部协调处理。{unit}将上报教育部，并告知您处理情况。"


def ministry_note(case: Case) -> str:
    """The receipt's one line on what happens to a case referred to the Ministry."""
    return MINISTRY_NEXT.format(unit=case.responsible_unit.name)
