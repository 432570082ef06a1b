"""The citizen's server-side session: the cookie carries only its id; the data lives sealed in the database."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, session

from caseflow.extensions import unit_of_work
from caseflow.security import citizen_sessions


def citizen() -> dict:
    """This browser's server-side session data (``track_grants``, ``receipt``), read once per request."""
    if "citizen" not in g:
        g.citizen = citizen_sessions.load(session.get("citizen"))
    return g.citizen


def keep(**changes) -> None:
    """Store ``changes`` in this browser's server-side session; the cookie gets only its id."""
    data = {**citizen(), **changes}
    lifetime = timedelta(seconds=current_app.config["CITIZEN_SESSION_SECONDS"])
    with unit_of_work():
        session["citizen"] = citizen_sessions.save(session.get("citizen"), data, lifetime)
    g.citizen = data
