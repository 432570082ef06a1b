"""The audit log: every look at personal data, every print, every registry lookup."""
from __future__ import annotations

from flask import has_request_context, request

from caseflow.extensions import db
from caseflow.models import AuditEntry, User
from caseflow.security import crypto


def record_access(
    user: User | None,
    action: str,
    target_type: str,
    target_ref: str,
    *,
    subject_id_number: str | None = None,
    detail: str | None = None,
) -> AuditEntry:
    """Append one audit row in the current transaction (never the plaintext ID number)."""
    entry = AuditEntry(
        user_id=user.id if user else None,
        action=action,
        target_type=target_type,
        target_ref=target_ref,
        subject_hash=crypto.lookup_hash(subject_id_number),
        detail=detail,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
