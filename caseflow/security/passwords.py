"""Officials' passwords: the one policy every path asks, and hashing with argon2id.

The administrator's pages and CLI (create, reset), the user's own change and
the demo loader all make a hash for a new password through
``hash_new_password``, so none of them can store a password the policy refuses.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from caseflow.errors import InvalidInput

PASSWORD_MIN, PASSWORD_MAX = 12, 128
# Fewer different characters than this is "all of one kind" (aaaaaaaaaaaa, abababababab).
DISTINCT_MIN = 4
# The rule in words, for the hint under every new-password field.
POLICY_HINT = f"{PASSWORD_MIN}到{PASSWORD_MAX}个字符，建议混合使用字母、数字和符号"

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class WeakPassword(InvalidInput):
    """A new password the policy refuses; ``field`` names the form field it came from."""


def password_problem(password: str | None) -> str | None:
    """Why ``password`` may not be used (Chinese), or None when it may."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return f"密码至少{PASSWORD_MIN}个字符"
    if len(password) > PASSWORD_MAX:
        return f"密码不能超过{PASSWORD_MAX}个字符"
    if len(set(password)) < DISTINCT_MIN:
        return "密码过于简单，请混合使用字母、数字和符号"
    return None


def check_password_policy(password: str | None, field: str = "password") -> str:
    """``password`` unchanged if the policy allows it; otherwise ``WeakPassword`` for ``field``."""
    problem = password_problem(password)
    if problem:
        raise WeakPassword(problem, field=field)
    return password or ""


def hash_new_password(password: str | None, field: str = "password") -> str:
    """The argon2id hash of a new password, after the policy has allowed it."""
    return hash_password(check_password_policy(password, field))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (no policy: for fixtures and timing equalisers)."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
