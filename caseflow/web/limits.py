"""Rate limits on the citizen side (submission, tracking) with Flask-Limiter.

Counters live in Redis when ``REDIS_URL`` is set so every gunicorn worker shares
them; when Redis is down the limiter falls back to per-process memory instead
of failing the request.  Limits are strings in Flask-Limiter's notation
(``"5 per minute; 30 per hour"``) read from the config, so they can be tuned
per deployment.  The test suite runs with them off, except where a test turns
them on.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Endpoint -> (config key of its limit, methods limited; None: all).
LIMITED = {
    "public.new_complaint": ("RATE_LIMIT_SUBMIT", ["POST"]),
    "public.track": ("RATE_LIMIT_TRACK", ["POST"]),
    "public.case": ("RATE_LIMIT_TRACK", None),
    # The complainant's posts after submitting count like submissions.
    "public.add_material": ("RATE_LIMIT_SUBMIT", ["POST"]),
    "public.withdraw": ("RATE_LIMIT_SUBMIT", ["POST"]),
    "public.notice": ("RATE_LIMIT_SUBMIT", ["POST"]),
    "api.submit_complaint": ("RATE_LIMIT_SUBMIT", ["POST"]),  # the JSON API's public side, as the pages
    "api.complaint_status": ("RATE_LIMIT_TRACK", None),
}


def init_limits(app: Flask) -> Limiter:
    """Bind a limiter to this app and wrap the citizen endpoints with their limits."""
    app.config.setdefault("RATELIMIT_ENABLED", not app.config.get("TESTING"))
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    if redis_url:
        # Short timeouts: a dead Redis must cost milliseconds, then the in-memory fallback takes over.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "caseflow-limits")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter = Limiter(get_remote_address, app=app, in_memory_fallback_enabled=True, swallow_errors=True)
    app.extensions["caseflow_limiter"] = limiter  # the wrapped views hold it only weakly
    for endpoint, (key, methods) in LIMITED.items():
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = limiter.limit(_configured(key), methods=methods)(view)
    return limiter


def _configured(key: str):
    """The limit string, read at request time so a test or an operator can change it."""
    return lambda: current_app.config[key]
