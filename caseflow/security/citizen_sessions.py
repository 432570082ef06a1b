"""A citizen's session kept server-side: the cookie carries only a random id.

A citizen has no account; what their browser may see (the cases it submitted or
opened with the right access code, and the receipt just shown, access code
included) used to travel in the signed but readable session cookie.  It lives in
``citizen_sessions`` instead, sealed, found by a hash of the id, like an
official's session is found through the user row its cookie names.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from caseflow.extensions import db
from caseflow.models import CitizenSession
from caseflow.timeutil import utcnow


def _id_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load(token: str | None, *, now: datetime | None = None) -> dict:
    """The data of the session ``token`` names; empty for no token, an unknown one or an expired one."""
    if not token or not isinstance(token, str):
        return {}
    row = db.session.get(CitizenSession, _id_hash(token))
    if row is None or row.expires_at <= (now or utcnow()):
        return {}
    return json.loads(row.data)


def save(token: str | None, data: dict, lifetime: timedelta, *, now: datetime | None = None) -> str:
    """Keep ``data`` under ``token`` (a new random id if None) for ``lifetime``; the id to put in the cookie."""
    token = token if isinstance(token, str) and token else secrets.token_urlsafe(32)
    expires = (now or utcnow()) + lifetime
    row = db.session.get(CitizenSession, _id_hash(token))
    if row is None:
        db.session.add(CitizenSession(id_hash=_id_hash(token), data=json.dumps(data), expires_at=expires))
    else:
        row.data, row.expires_at = json.dumps(data), expires
    db.session.flush()
    return token


def sweep(*, now: datetime | None = None) -> int:
    """Delete expired sessions; how many went."""
    result = db.session.execute(sa.delete(CitizenSession).where(CitizenSession.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)
