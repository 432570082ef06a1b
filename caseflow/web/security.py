"""Security headers on every response, and the idle timeout for officials."""
from __future__ import annotations

from datetime import datetime

from flask import Flask, Request, abort, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.datastructures import iter_multi_items

from caseflow.security.text import strip_bidi
from caseflow.timeutil import utcnow
from caseflow.web.params import BoundedArgs

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class _TypedValues(BoundedArgs):
    """Form fields and query values as typed, minus bidirectional controls (``security.text``): every form
    (citizen, clerk, staff, admin) reads them from here, so none can forget.  Passwords are left as typed.
    ``get(..., type=int)`` refuses numbers no column can hold (``web.params``)."""

    def __init__(self, mapping=None):
        if mapping is not None:
            mapping = [(k, v if "password" in k or not isinstance(v, str) else strip_bidi(v))
                       for k, v in iter_multi_items(mapping)]
        super().__init__(mapping)


class CleanRequest(Request):
    """The app's request: its ``form`` and ``args`` hold :class:`_TypedValues`."""

    parameter_storage_class = _TypedValues


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect through ``//`` or ``/\\``)."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in target):  # browsers drop tabs and newlines: "/\t/evil"
        return None
    return target


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values)


def init_security(app: Flask) -> None:
    app.config.setdefault("IDLE_TIMEOUT_SECONDS", 30 * 60)
    app.request_class = CleanRequest

    @app.before_request
    def _refuse_nul():
        """A NUL character is never legitimate text, and PostgreSQL refuses it (a 500 otherwise)."""
        if "\x00" in request.path or _has_nul(request.args.values()) or (
                request.method == "POST" and _has_nul(request.form.values())):
            abort(400)

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user.is_authenticated or request.path.startswith("/track"):
            # Pages with personal data are never kept in shared caches or the back-forward cache.
            h["Cache-Control"] = "no-store"
        return response

    @app.before_request
    def _idle_timeout():
        if not current_user.is_authenticated:
            return None
        now = utcnow()
        last = session.get("last_seen")
        session["last_seen"] = now.isoformat()
        if last and (now - datetime.fromisoformat(last)).total_seconds() > app.config["IDLE_TIMEOUT_SECONDS"]:
            logout_user()
            session.clear()
            flash("您长时间未操作，已自动退出，请重新登录。", "warning")
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        return None
