"""503 instead of half-written data when the database goes away.

Every request is one transaction, so rolling it back leaves nothing behind: the
citizen gets a Chinese "try again" page with ``Retry-After`` and their form can
be resent (the submission token makes a resend of a stored form find its case).
The page is rendered without touching the database: the user is shown as
anonymous and, should rendering still fail, a static page is sent.
"""
from __future__ import annotations

import contextlib
import json
import logging

from flask import Flask, Response, current_app, g, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

FALLBACK_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>系统繁忙</title>
<h1>503 系统繁忙</h1><p>系统暂时繁忙，请稍后重试。您的数据没有丢失。</p></html>"""


def is_outage(exc: BaseException) -> bool:
    """The database is unreachable or the connection dropped (not a bad statement or a constraint)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def init_outage(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        if not is_outage(exc):
            raise exc  # a real bug: the 500 handler reports it
        return unavailable(exc)

    @app.teardown_appcontext
    def _close_session(exc):
        """End the session before Flask-SQLAlchemy does (teardowns run last-registered first).

        The final rollback fails when the server went away after the view was done;
        the answer is already right (the view's own commit, or a read), so the dead
        connection is thrown away instead of turning that answer into a 500.
        """
        from caseflow.extensions import db

        try:
            db.session.remove()
        except DBAPIError as err:
            if not is_outage(err):
                raise
            log.warning("database connection lost after the response was ready: %s", type(err).__name__)
            with contextlib.suppress(Exception):
                db.session.invalidate()
            with contextlib.suppress(Exception):
                db.session.remove()


def unavailable(exc: BaseException | None = None) -> Response:
    """Roll back what this request did and answer 503 with ``Retry-After``."""
    from caseflow.extensions import db, login_manager

    log.warning("database unavailable, answering 503: %s", type(exc).__name__ if exc else "-")
    with contextlib.suppress(Exception):  # the connection may be gone: rolling back is best effort
        db.session.rollback()
    with contextlib.suppress(Exception):
        db.session.remove()
    g._login_user = login_manager.anonymous_user()  # the page must not load the user from the database
    message = "系统暂时繁忙，请稍后重试。您的数据没有丢失。"
    if request.path.startswith("/api/"):  # the JSON API answers JSON
        response = Response(json.dumps({"code": 503, "status": "Service Unavailable", "message": message}),
                            status=503, mimetype="application/json")
        response.headers["Retry-After"] = str(current_app.config.get("RETRY_AFTER_SECONDS", 10))
        return response
    try:
        body = render_template("errors/error.html", code=503, title="系统繁忙",
                               message=message,
                               request_id=g.get("request_id", ""))
    except Exception:  # noqa: BLE001 - whatever the template needs, the answer is still a 503
        body = FALLBACK_PAGE
    response = Response(body, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(current_app.config.get("RETRY_AFTER_SECONDS", 10))
    response.headers["Cache-Control"] = "no-store"
    return response
