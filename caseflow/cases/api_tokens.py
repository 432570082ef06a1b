"""API tokens: created and revoked by administrators, shown once, stored as their SHA-256, scoped to a unit.

A token acts as its own service account: an officer of its unit (a ``users`` row that cannot log in,
its password hash being no argon2 hash), so every permission rule of ``caseflow.cases.permissions``
applies to an integration exactly as to a person of that unit.  Each call is rate-limited per token
(``security.throttle``) and audited (``security.audit``); failed presentations are throttled per
client address.
"""
from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app

from caseflow.cases import permissions
from caseflow.errors import DomainError, InvalidInput
from caseflow.extensions import db
from caseflow.models import ApiToken, Role, Unit, User, Webhook
from caseflow.security import throttle
from caseflow.security.audit import record_access
from caseflow.timeutil import utcnow

PREFIX = "cf_"
NOT_A_PASSWORD = "!api-token"  # no argon2 hash: the service account can never log in with a password
REFUSED = "接口令牌无效或已被吊销，请向系统管理员申请新的令牌。"


class TokenRefused(DomainError):
    """No token, an unknown token or a revoked one."""

    status = 401

    def __init__(self, message: str = REFUSED):
        super().__init__(message)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def call_limit() -> throttle.Limit:
    return throttle.Limit("api", current_app.config.get("API_MAX_CALLS", 600),
                          current_app.config.get("API_WINDOW_SECONDS", 60),
                          "接口调用过于频繁，请{minutes}分钟后再试。", max_doublings=0)


def failure_limit() -> throttle.Limit:
    return throttle.Limit("api_auth", current_app.config.get("API_MAX_FAILURES", 20),
                          current_app.config.get("API_FAILURE_WINDOW_SECONDS", 600),
                          "接口令牌错误次数过多，请{minutes}分钟后再试。")


def create_token(actor: User | None, unit: Unit, name: str) -> tuple[ApiToken, str]:
    """A new token for ``unit`` and its service account; the plain token is returned once, never stored.

    ``actor`` is the administrator (None from the command line, run by the operator).
    """
    if actor is not None:
        permissions.check(actor, "administer")
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("请填写令牌名称（如“12345热线平台”）", field="name")
    if len(name) > 40:
        raise InvalidInput("令牌名称不能超过40个字", field="name")
    raw = PREFIX + secrets.token_urlsafe(32)
    service = User(username=f"api-{secrets.token_hex(6)}", password_hash=NOT_A_PASSWORD,
                   name=f"接口：{name}"[:60], role=Role.OFFICER, unit=unit)
    token = ApiToken(name=name, unit=unit, user=service, token_hash=digest(raw), prefix=raw[:10],
                     created_by_id=actor.id if actor else None)
    db.session.add_all([service, token])
    db.session.flush()
    record_access(actor, "api_token_create", "api_token", str(token.id), detail=f"{name}（{unit.name}）")
    return token, raw


def revoke_token(actor: User | None, token: ApiToken) -> None:
    """Refuse the token from now on: its service account and its webhooks stop too."""
    if actor is not None:
        permissions.check(actor, "administer")
    if token.revoked_at is not None:
        raise InvalidInput("该令牌已被吊销", field="token")
    token.revoked_at, token.revoked_by_id = utcnow(), actor.id if actor else None
    token.user.active = False
    token.user.session_version += 1
    db.session.execute(sa.update(Webhook).where(Webhook.token_id == token.id).values(active=False))
    record_access(actor, "api_token_revoke", "api_token", str(token.id), detail=token.name)
    db.session.flush()


def tokens() -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def authenticate(raw: str | None, client: str | None) -> ApiToken:
    """The live token ``raw`` names, counted against its rate limit; ``TokenRefused`` otherwise.

    A wrong token counts against the client's address (the caller commits so the count stays); a call
    without any token is refused without counting.
    """
    raw = (raw or "").strip()
    if not raw:
        raise TokenRefused()  # no token at all: nothing guessed, nothing counted
    limit = failure_limit()
    address = [f"addr:{client or '-'}"]
    throttle.attempt(limit, address)
    token = None
    if raw.startswith(PREFIX) and len(raw) < 200:
        token = db.session.scalars(sa.select(ApiToken).where(ApiToken.token_hash == digest(raw))).first()
    if token is None or token.revoked_at is not None or not token.user.active:
        raise TokenRefused()
    throttle.forgive(limit, address)
    throttle.attempt(call_limit(), [f"token:{token.id}"])
    token.last_used_at = utcnow()
    return token


def audit_call(token: ApiToken, method: str, path: str) -> None:
    """One audit row per authenticated call: who (the service account), what, from where."""
    record_access(token.user, "api_call", "api_token", str(token.id), detail=f"{method} {path}"[:500])
