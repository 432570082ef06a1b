"""Officials' credentials: log-in with throttling, password changes (the policy is in ``passwords``)."""
from __future__ import annotations

import functools

import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import User
from caseflow.security import throttle
from caseflow.security.passwords import hash_new_password, hash_password, verify_password
from caseflow.timeutil import utcnow

# The sixth failure within a minute, for the account from one address or for the address, waits (longer each time).
LOGIN_LIMIT = throttle.Limit("login", 5, 60, "登录失败次数过多，请{minutes}分钟后再试。")
# Re-entering one's own password while logged in (password change, two-step verification settings).
REAUTH_LIMIT = throttle.Limit("reauth", 5, 60, "密码错误次数过多，请{minutes}分钟后再试。")


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (equal timing); made on first use, not at import
    (every CLI command and worker imports this module; a hash costs ~0.1 s)."""
    return hash_password("caseflow-timing-equaliser")


def authenticate(username: str, password: str, address: str | None) -> User | None:
    """The user if the credentials are right; counts failures and refuses (429) past the limit."""
    # Keyed by (address, account) and by address: wrong passwords from elsewhere never lock the account.
    pair, client = f"user:{address or '?'}|{username.strip().lower()}", f"addr:{address or '?'}"
    throttle.attempt(LOGIN_LIMIT, [pair, client])
    user = db.session.scalars(sa.select(User).where(User.username == username.strip())).first()
    ok = verify_password(user.password_hash if user else _dummy_hash(), password) and user is not None
    if not ok or not user.active:
        return None
    throttle.clear(LOGIN_LIMIT, [pair])
    throttle.forgive(LOGIN_LIMIT, [client])
    return user


def logged_in(user: User) -> None:
    """Note a completed log-in (after the second factor, where there is one)."""
    user.last_login_at = utcnow()


def check_current_password(user: User, password: str | None, field: str) -> None:
    """A logged-in user's own password, asked again before a sensitive change; wrong ones are throttled."""
    keys = [f"user:{user.id}"]
    throttle.attempt(REAUTH_LIMIT, keys)
    if not verify_password(user.password_hash, password or ""):
        raise InvalidInput("当前密码不正确", field=field)
    throttle.forgive(REAUTH_LIMIT, keys)


def set_password(user: User, new_password: str, field: str = "new_password") -> None:
    """Store a new password (the policy decides) and end every existing session of the user."""
    user.password_hash = hash_new_password(new_password, field, personal=(user.username, user.name))
    user.session_version += 1


def change_password(user: User, current: str, new_password: str) -> None:
    """The user changes their own password (the current one is required)."""
    check_current_password(user, current, "current_password")
    if current == new_password:
        raise InvalidInput("新密码不能与当前密码相同", field="new_password")
    set_password(user, new_password)
