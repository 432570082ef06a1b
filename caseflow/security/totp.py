"""The optional TOTP second factor (RFC 6238) for supervisors and administrators.

A user turns it on from their account page by scanning the QR code (or typing the
secret) into an authenticator app and confirming with their password and a code.
From then on the log-in asks for a code after the password.  A code is accepted in
the 30-second step before, at or after the server's clock, and only once
(``User.totp_last_step``).  Wrong codes are throttled per account like passwords.
An administrator can turn it off for a user who lost their phone (the admin page,
or ``flask --app caseflow users reset-totp USERNAME``).  Every change is audited.
"""
from __future__ import annotations

import hmac
import time
import unicodedata

import pyotp
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Role, User
from caseflow.security import crypto, throttle
from caseflow.security.accounts import check_current_password
from caseflow.security.audit import record_access

ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
ISSUER = "学籍投诉处理系统"
STEP = 30
PENDING_SECONDS = 300  # how long the log-in's code step waits after the password was right
# Five wrong codes a minute, and twenty a day: guessing one of the three codes valid at a time then has odds
# of about 1 in 16,000 a day, not 1 in 140.  A right code clears both; each wrong one is audited.
CODE_LIMITS = (
    throttle.Limit("totp", 5, 60, "验证码错误次数过多，请{minutes}分钟后再试。", max_doublings=0),
    throttle.Limit("totp-day", 20, 86400,
                   "验证码错误次数过多，两步验证已暂停，请{minutes}分钟后再试，或请系统管理员关闭后重新启用。",
                   max_doublings=0),
)


def eligible(user: User) -> bool:
    return user.role in ROLES


def enabled(user: User) -> bool:
    return bool(user.totp_secret)


def new_secret() -> str:
    """A random 160-bit secret in base32 (what authenticator apps take)."""
    return pyotp.random_base32(32)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it in by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no image files, no JavaScript)."""
    import segno  # the enrolment page only; not at every process start

    return segno.make(uri, error="m").svg_inline(scale=4, title="两步验证二维码")


def setup_secret(sealed: str | None) -> tuple[str, str]:
    """(secret, sealed secret) of an enrolment in progress: the one ``sealed`` holds, or a new one.

    The secret stays sealed in the user's session until it is confirmed, so a page reload or a wrong code
    does not make the user scan again; one sealed under a data key since retired is replaced.
    """
    if sealed:
        try:
            return crypto.decrypt(sealed), sealed
        except RuntimeError:
            pass
    secret = new_secret()
    return secret, crypto.encrypt(secret)


def pending_login(user: User, after: str | None) -> dict:
    """What a session keeps between the right password and the code (the log-in's second step).

    ``step``: the last step a code was accepted for; a code accepted since (this log-in done, or another)
    makes it void.
    """
    return {"user": user.get_id(), "at": time.time(), "next": after, "step": user.totp_last_step}


def pending_user(pending) -> User | None:
    """The user of a :func:`pending_login`, if its code step may still be asked."""
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    try:
        uid, version = (int(x) for x in str(pending.get("user")).split(":"))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if (user is None or not user.active or user.session_version != version or not enabled(user)
            or user.totp_last_step != pending.get("step")):
        return None
    return user


def _code(raw: str | None) -> str | None:
    """Six digits, full-width digits and spaces allowed; None for anything else."""
    code = "".join(unicodedata.normalize("NFKC", raw or "").split())
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (before, at or after now) whose code this is."""
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now // STEP)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def verify(user: User, raw_code: str | None, *, now: float | None = None) -> bool:
    """The user's current code (once only); wrong codes count towards the limits (429 past them)."""
    keys = [f"user:{user.id}"]
    for limit in CODE_LIMITS:  # counted before the code is checked: parallel tries cannot pass the limits
        throttle.attempt(limit, keys)
    code = _code(raw_code)
    step = None if code is None or not user.totp_secret else _matching_step(
        user.totp_secret, code, time.time() if now is None else now)
    if step is None or not _claim(user, step):
        record_access(user, "totp_failure", "user", user.username)
        return False
    for limit in CODE_LIMITS:
        throttle.clear(limit, keys)
    return True


def _claim(user: User, step: int) -> bool:
    """Mark the step used unless it, or a later one, already was.  One conditional UPDATE: of two requests
    with the same code, the second waits for the first's row lock and then finds the step taken."""
    claimed = db.session.execute(
        sa.update(User).where(User.id == user.id,
                              sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    if claimed:
        set_committed_value(user, "totp_last_step", step)
    return bool(claimed)


def enable(user: User, secret: str, password: str, raw_code: str | None, *, now: float | None = None) -> None:
    """Turn the second factor on with a secret the user's app now holds; raises InvalidInput per field."""
    if not eligible(user):
        raise InvalidInput("只有责任人和系统管理员可以启用两步验证", field="code")
    check_current_password(user, password, "password")
    code = _code(raw_code)
    if code is None:
        raise InvalidInput("请输入验证器应用显示的6位数字", field="code")
    step = _matching_step(secret, code, time.time() if now is None else now)
    if step is None:
        raise InvalidInput("验证码不正确，请确认手机时间准确后输入当前显示的6位数字", field="code")
    user.totp_secret, user.totp_last_step = secret, step
    user.session_version += 1  # other sessions were opened without the second factor
    record_access(user, "totp_enable", "user", user.username)


def disable(user: User, password: str, raw_code: str | None) -> None:
    """The user turns it off: password and a current code.  Other sessions end (as when it is turned on)."""
    check_current_password(user, password, "password")
    if not verify(user, raw_code):
        raise InvalidInput("验证码不正确", field="code")
    user.totp_secret = user.totp_last_step = None
    user.session_version += 1
    record_access(user, "totp_disable", "user", user.username)


def reset(actor: User | None, user: User) -> None:
    """An administrator turns it off for a user (lost phone); that user's sessions end.  Not for one's own
    account (that takes the password and a code: :func:`disable`)."""
    if actor is not None and actor.id == user.id:
        raise InvalidInput("不能在此关闭自己的两步验证，请在“两步验证”页面输入密码和验证码关闭", field="totp")
    user.totp_secret = user.totp_last_step = None
    user.session_version += 1
    record_access(actor, "user_reset_totp", "user", user.username)
