"""The web layer: thin views over the domain, one blueprint per audience."""
from __future__ import annotations

from flask import Flask, has_request_context, request


def register_web(app: Flask) -> None:
    """Register blueprints, the login loader, template helpers and error pages."""
    from caseflow.web import assets, auth, errors, filters, limits, outage, params, security, supervision

    params.init_params(app)  # before the blueprints: their <int:...> rules use the bounded converter
    app.extensions["caseflow.client_address"] = _client_address  # read by the audit log
    assets.init_assets(app)  # before security: its header hook runs after security's (reverse order)
    security.init_security(app)
    supervision.init_supervision(app)
    auth.init_login(app)
    filters.init_filters(app)
    errors.init_errors(app)
    outage.init_outage(app)
    from caseflow.web import guidance

    guidance.init_guidance(app)
    from caseflow.web.admin import bp as admin_bp
    from caseflow.web.api import init_api
    from caseflow.web.api_admin import bp as api_admin_bp
    from caseflow.web.audit import bp as audit_bp
    from caseflow.web.auth import bp as auth_bp
    from caseflow.web.bulk import bp as bulk_bp
    from caseflow.web.documents import bp as documents_bp
    from caseflow.web.exports import bp as exports_bp
    from caseflow.web.followups import bp as followups_bp
    from caseflow.web.guidance import bp as guidance_bp
    from caseflow.web.intake import bp as intake_bp
    from caseflow.web.public import bp as public_bp
    from caseflow.web.registry import bp as registry_bp
    from caseflow.web.staff import bp as staff_bp

    init_api(app)  # before the limits: its public endpoints share the citizen pages' limits
    for bp in (public_bp, auth_bp, exports_bp, bulk_bp, staff_bp, admin_bp, intake_bp, supervision.bp, documents_bp,
               audit_bp, registry_bp, guidance_bp, followups_bp, api_admin_bp):
        app.register_blueprint(bp)
    limits.init_limits(app)  # wraps the citizen views registered above


def _client_address() -> str | None:
    """The address of the request being served, if any: the domain's audit rows record it."""
    return request.remote_addr if has_request_context() else None
